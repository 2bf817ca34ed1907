"""How long each page of the analysts' app takes to render on the current warehouse.

    python -m benchmarks.bench_app [--json]

Each page is run with streamlit.testing's AppTest twice: the first run reads the warehouse
(an empty cache), the second is served from the cache, as a reload is. `make bench` runs it at
each scale; the figures go to BENCHMARKS.md. A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from python_ml.settings import PROJECT_ROOT

PAGES = ("overview", "predictions", "songs_2023", "score_track")


def measure() -> dict[str, dict[str, float]]:
    from streamlit.testing.v1 import AppTest

    # The views import the app's helpers (app_ui) as `streamlit run app/streamlit_app.py` lets
    # them, from the app's folder (pytest adds it by configuration: pyproject.toml).
    if str(PROJECT_ROOT / "app") not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT / "app"))

    # The imports, whatever the machine is doing (AppTest stops a run after 3 s by default).
    AppTest.from_file(
        str(PROJECT_ROOT / "app" / "views" / "score_track.py"), default_timeout=300
    ).run()
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("streamlit")]:
        logging.getLogger(name).setLevel(logging.ERROR)  # "missing ScriptRunContext" in bare mode
    figures = {}
    for page in PAGES:
        path = str(PROJECT_ROOT / "app" / "views" / f"{page}.py")
        seconds = []
        for _ in range(2):
            started = time.perf_counter()
            at = AppTest.from_file(path, default_timeout=300).run()
            seconds.append(time.perf_counter() - started)
            if at.exception:
                raise RuntimeError(f"{page}: {at.exception[0].value}")
        figures[page] = {"first": round(seconds[0], 2), "cached": round(seconds[1], 2)}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_app", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    figures = measure()
    if args.json:
        print("APP_PAGES " + json.dumps(figures))
    else:
        for page, f in figures.items():
            print(f"{page:<12} first {f['first']:5.2f} s   cached {f['cached']:5.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
