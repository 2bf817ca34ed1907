"""Command line: `python -m python_ml <command> --help` for every step.

The main job, `python -m python_ml run`, is what `make run` calls.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from python_ml.settings import Settings, load_settings

log = logging.getLogger("python_ml")


class StepFailed(RuntimeError):
    pass


@contextmanager
def step(name: str) -> Iterator[None]:
    log.info("==> %s", name)
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        log.error("<== %s failed after %.1f s", name, time.perf_counter() - started)
        raise
    log.info("<== %s done in %.1f s", name, time.perf_counter() - started)


# --------------------------------------------------------------------------------------------
# commands


def cmd_generate(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml import generate

    raw_dir = Path(args.out).resolve() if args.out else settings.raw_dir
    with step(f"generate {args.rows:,} tracks into {raw_dir}"):
        generate.generate(raw_dir, rows=args.rows, seed=args.seed, overwrite=args.overwrite)


def cmd_extract(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml import extract

    with step(f"extract raw data into {settings.raw_dir}"):
        report = extract.extract(
            settings.raw_dir, force=args.force, offline=args.offline, seed=args.seed, rows=args.rows
        )
    if report.used_builtin_data:
        log.warning("running on BUILT-IN generated data, not the Kaggle datasets")


def cmd_build(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml.dbt import run_dbt

    with step("dbt build (staging, cleaning, split)"):
        run_dbt(settings, "build", "--exclude", "tag:ml_outputs", *args.dbt_args)


def cmd_run(settings: Settings, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    cmd_extract(settings, args)
    args.dbt_args = []
    cmd_build(settings, args)
    log.info("main job finished in %.1f s", time.perf_counter() - started)


# --------------------------------------------------------------------------------------------
# parser


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    from python_ml.generate import REAL_TRACK_ROWS

    parser.add_argument(
        "--rows",
        type=int,
        default=REAL_TRACK_ROWS,
        help="tracks to generate when built-in data is used (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default: 42)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m python_ml",
        description="music-popularity: data, dbt build, training and scoring.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    p = sub.add_parser(
        "generate",
        help="write built-in (synthetic) raw data",
        description="Write the three raw files with the Kaggle schemas and "
        "quirks. Existing files are kept unless --overwrite; a tracks file "
        "without artists.csv gets an artists.csv made for it.",
    )
    _add_data_options(p)
    p.add_argument("--out", help="raw-data folder (default: $MUSIC_RAW_DIR or data/raw)")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "extract",
        help="download the Kaggle datasets (or use built-in data)",
        description="Download the missing Kaggle datasets when credentials "
        "exist; otherwise write built-in data. Checks every file's header.",
    )
    _add_data_options(p)
    p.add_argument("--force", action="store_true", help="download again even if present")
    p.add_argument(
        "--offline",
        action="store_true",
        help="never contact Kaggle: use built-in data for whatever is missing",
    )
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser(
        "build",
        help="dbt build of the ML inputs (staging to split)",
        description="dbt build of everything but the prediction marts.",
    )
    p.add_argument("dbt_args", nargs=argparse.REMAINDER, help="extra arguments for dbt")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "run", help="the main job, end to end", description="extract -> dbt build of the ML inputs."
    )
    _add_data_options(p)
    p.add_argument("--force", action="store_true", help="download the datasets again")
    p.add_argument("--offline", action="store_true", help="never contact Kaggle")
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("matplotlib", "PIL", "urllib3", "alembic", "mlflow", "absl"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from python_ml.dbt import DbtError
    from python_ml.extract import ExtractError
    from python_ml.warehouse import WarehouseError

    known = (ExtractError, WarehouseError, DbtError, StepFailed, ValueError)
    try:
        args.func(load_settings(), args)
    except known as exc:
        log.error("%s", exc)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
