"""The package's shape: no import cycle, no module importing the command line, and importing
the orchestration definitions does no work (no dbt, no file written)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "python_ml"


def import_graph() -> dict[str, set[str]]:
    """Every python_ml module and the python_ml modules it imports (python_ml/codebase.py)."""
    from python_ml.codebase import import_graph as graph

    return graph(PACKAGE)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return stack[stack.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_python_ml_has_no_import_cycle():
    assert find_cycle(import_graph()) is None


def test_no_module_imports_the_command_line():
    importers = sorted(m for m, targets in import_graph().items() if "python_ml.cli" in targets)
    assert importers == ["python_ml.__main__"]


@pytest.mark.parametrize(
    "module", ["python_ml.orchestration.definitions", "python_ml.orchestration.runner"]
)
def test_importing_the_definitions_runs_nothing(tmp_path, module):
    """An audit hook records every dbt process started and every file opened for writing while the
    module is imported: none."""
    script = f"""
import json, sys
events = []
def hook(event, args):
    spawn = event in ("subprocess.Popen", "os.exec", "os.posix_spawn", "os.system")
    if spawn and "dbt" in str(args):
        events.append([event, str(args[0])[:200]])
    elif event == "open" and len(args) > 1 and isinstance(args[1], str) and any(
        c in args[1] for c in "wax+"
    ) and not str(args[0]).startswith(("/dev/", "/proc/")):
        events.append([event, str(args[0])])
sys.addaudithook(hook)
import {module}
print(json.dumps(events))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout.strip().splitlines()[-1])
    assert [
        e for e in events if not e[1].endswith((".pyc", ".pyc.tmp")) and "__pycache__" not in e[1]
    ] == []


def test_spark_finds_the_raw_file_data_source_in_the_installed_project(tmp_path):
    """Spark 4 registers the ``DefaultSource`` of every top-level module named ``pyspark_*``
    that ``pkgutil.iter_modules`` lists; the installed project must be listed without
    PYTHONPATH (pyproject.toml's package-dir), or plain `dbt build --target spark` cannot load."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    script = (
        "import pkgutil, importlib\n"
        "names = [m.name for m in pkgutil.iter_modules() if m.name.startswith('pyspark_')]\n"
        "print(names, importlib.import_module('pyspark_music_popularity').DefaultSource.name())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['pyspark_music_popularity']", "music_raw"]


def test_the_readmes_map_of_the_package_names_every_module() -> None:
    """README's "Architecture" block lists each folder's modules: a newcomer reads it to find
    where a step lives (errors, batch, drift, champion_files, tables, versions and dbt_state
    were missing from it)."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Architecture", 1)[1].split("```", 2)[1]
    named = set(re.findall(r"[a-z_]+", block))
    missing = sorted(
        path.relative_to(PACKAGE).with_suffix("").as_posix()
        for path in PACKAGE.rglob("*.py")
        if not path.name.startswith("__") and path.stem not in named
    )
    assert missing == [], f"modules the README's map does not name: {missing}"


def test_loading_a_fitted_model_does_not_import_pydantic():
    """`predict` and the service load the champion through the kinds and models: the kinds'
    parameter schemas (pydantic) are read with a config, to train. Importing pydantic and
    building the schemas took about 0.25 s of `predict`'s 2 s for 5 rows (issue 22's goal)."""
    code = (
        "import sys\n"
        "import python_ml.tracks.predict, python_ml.tracks.scorer, python_ml.tracks.models\n"
        "import python_ml.tracking.champion_files\n"
        "from python_ml.tracks.kinds import KINDS\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'"
        " or m in ('python_ml.tracks.config', 'python_ml.tracks.kinds.params')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "[]"


def test_every_kind_names_its_parameter_schema():
    from python_ml.tracks.kinds import KINDS
    from python_ml.tracks.kinds.params import Params

    for name, kind in KINDS.items():
        assert issubclass(kind.params, Params), name
        assert kind.params.__name__ == kind.params_schema, name
