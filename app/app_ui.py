"""Streamlit helpers shared by the app's pages (``app/``): settings, cached reads, messages.

Every read goes through :mod:`python_ml.reports.app_data` (read-only, the warehouse closed between
queries) and is cached by the warehouse's modification time and size and the champion's run
id, so a finished `make run` shows at the next reload.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from python_ml.raw import origin
from python_ml.reports import app_data
from python_ml.settings import Settings, load_settings


def settings() -> Settings:
    return load_settings()


@st.cache_data(show_spinner=False, max_entries=256)
def _cached(name: str, warehouse: str, stamp: tuple, run_id: str | None, *args: Any) -> Any:
    return getattr(app_data, name)(load_settings(), *args)


# The 2023 songs study's reads: its runs, its marts and its file's rows, which need no tracks
# champion (a tracks file too small to train on left the songs page saying "no predictions").
WITHOUT_CHAMPION = {"songs_study", "song_predictions", "source_rows"}


def read(name: str, *args: Any) -> Any:
    """``app_data.<name>(settings, *args)``, cached; a busy or missing warehouse stops the
    page with what to do."""
    current = settings()
    try:
        stamp = app_data.stamp(current)
        if name in WITHOUT_CHAMPION:
            return _cached(name, str(current.warehouse), stamp, None, *args)
        champion = _cached("champion_run", str(current.warehouse), stamp, None)
        if name == "champion_run":
            return champion
        return _cached(name, str(current.warehouse), stamp, champion["run_id"], *args)
    except app_data.WarehouseBusy as exc:
        st.warning(f"**The warehouse is busy.** {exc}", icon=":material/hourglass_top:")
        st.stop()
    except app_data.WarehouseMissing as exc:
        st.info(f"**No predictions to show yet.** {exc}", icon=":material/info:")
        st.stop()


def stop_unless_champion_of_this_data() -> None:
    """Stop a page of the champion's figures when they are not this data's champion's (see
    :func:`app_data.champion_problem`), saying why and what to run, as the report does."""
    problem = read("champion_problem")
    if problem:
        st.error(problem, icon=":material/block:")
        st.stop()


def origin_banner(data_origin: str | None) -> None:
    """Say where the figures come from, as the report and the marts do."""
    if origin.is_generated(data_origin or ""):
        st.warning(origin.GENERATED_NOTICE, icon=":material/warning:")
    elif origin.is_partly_generated(data_origin or ""):
        st.warning(origin.partly_generated_notice(data_origin), icon=":material/warning:")
    else:
        st.caption(f"Data origin: {data_origin or 'unknown'}")
