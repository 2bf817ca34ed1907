"""When the main job runs by itself: a daily schedule and a sensor on new raw files, both off
until turned on in the UI (*Automation*)."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from python_ml.settings import load_settings

main_job = dg.define_asset_job(
    "main_job",
    selection=dg.AssetSelection.all(),
    description="The main job, end to end (what `python -m python_ml run` runs).",
)

daily = dg.ScheduleDefinition(
    name="daily_main_job",
    job=main_job,
    cron_schedule="0 6 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="The main job every day at 06:00 (off until turned on in the UI).",
)


def raw_files_signature(raw_dir: Path) -> dict[str, list[float]]:
    """Each raw CSV's size and modification time: a change means new data."""
    if not raw_dir.exists():
        return {}
    return {
        str(p.relative_to(raw_dir)): [p.stat().st_size, p.stat().st_mtime]
        for p in sorted(raw_dir.rglob("*.csv*"))
        if p.is_file()
    }


@dg.sensor(
    job=main_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs the main job when a raw CSV in $MUSIC_RAW_DIR is added or changed "
    "(off until turned on in the UI).",
)
def new_raw_files(context: dg.SensorEvaluationContext) -> Iterator[Any]:
    signature = raw_files_signature(load_settings().raw_dir)
    cursor = json.dumps(signature, sort_keys=True)
    if not signature:
        yield dg.SkipReason("no raw files yet")
        return
    if context.cursor == cursor:
        yield dg.SkipReason("no new or changed raw files")
        return
    if context.cursor:
        previous = json.loads(context.cursor)
        changed = [k for k in signature if previous.get(k) != signature[k]]
        changed += [f"{k} (removed)" for k in sorted(previous) if k not in signature]
        said = ", ".join(changed)
    else:  # the first look since the sensor was turned on: nothing to compare with
        said = (
            f"first look: the sensor had no record of the {len(signature)} raw file(s); "
            "the run does only what is stale"
        )
    context.update_cursor(cursor)
    yield dg.RunRequest(run_key=cursor, tags={"music/changed_files": said[:200]})
