"""The analysts' app: `make app` serves it on 127.0.0.1:8501.

Reads the prediction marts and the `ml` source read-only (python_ml/reports/app_data.py); scores a
song through the same path as `python -m python_ml predict`.
"""

import streamlit as st

from python_ml.settings import ui_address

st.set_page_config(page_title="music-popularity", page_icon=":material/music_note:", layout="wide")
overview = st.Page(
    "views/overview.py", title="Overview", icon=":material/insights:", url_path="overview"
)


def _home() -> None:
    """`/` opens the overview at its own address (a default page lives only at `/`, so
    `/overview` would be "Page not found")."""
    st.switch_page(overview)


navigation = st.navigation(
    [
        st.Page(_home, title="Home", url_path="home", default=True, visibility="hidden"),
        overview,
        st.Page(
            "views/predictions.py",
            title="Predictions",
            icon=":material/search:",
            url_path="predictions",
        ),
        st.Page(
            "views/score_track.py",
            title="Score a track",
            icon=":material/headphones:",
            url_path="score",
        ),
        st.Page(
            "views/songs_2023.py",
            title="2023 songs",
            icon=":material/trending_up:",
            url_path="songs_2023",
        ),
    ]
)
st.sidebar.caption(
    f"Docs: `make docs-serve` ({ui_address('docs')}) · MLflow: `make mlflow-ui` "
    f"({ui_address('mlflow')}) · Dagster: `make dagster` ({ui_address('dagster')})"
)
navigation.run()
