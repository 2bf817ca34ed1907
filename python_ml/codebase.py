"""The package's own code as files: which python_ml modules a module runs, read from the
source (nothing imported). A step's code version hashes those files, so editing a module the
step never runs (``predict``'s CSV output, say) does not make its results stale: with whole
folders hashed, an edit to tracks/predict.py refitted every experiment of the next `run`."""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# The folders of the models' code (their fitting, evaluation, scoring and MLflow logging): what
# training's and scoring's code versions hash of the modules they run.
MODEL_CODE = ("tracks", "tracking")
# The loader's code: the module, the folders of the modules it runs that count, and the modules
# left out (with what only they import). The loader reads, checks and quarantines the raw
# files, knows their columns and tells their origin. Not the generator, which extract's module
# (whose header checks the loader runs) imports: what it makes reaches the loader as files,
# whose content is the load's input (an edit to it loaded every file again, the same bytes).
LOADER = ("python_ml.warehouse.load", ("raw", "warehouse"), ("python_ml.raw.generate",))


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _imports(path: Path, stamp: tuple[int, int]) -> frozenset[str]:
    """The modules a file imports (read once per process and version of the file: ``stamp``
    is its modification time and size; parsing the package took 0.3-0.7 s, paid by every
    step's code version)."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets.add(node.module)
            targets |= {f"{node.module}.{a.name}" for a in node.names}
    return frozenset(targets)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Every module of the package and the package's modules it imports, at any depth of its
    code (an import inside a function counts: it is a dependency all the same)."""
    modules = {_module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        stat = path.stat()
        targets = _imports(path, (stat.st_mtime_ns, stat.st_size))
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def module_files(
    module: str,
    within: tuple[str, ...] | None = None,
    package: Path = PACKAGE,
    skip: tuple[str, ...] = (),
) -> list[Path]:
    """The files ``module`` runs when imported and called: its own, those of the package's
    modules it imports (directly or through others) and of their parent packages; only those
    under the package's folders ``within`` when given (e.g. ``("tracks", "tracking")``: the
    code of the models, not the warehouse's connections). ``skip``: modules left out, with what
    only they import."""
    graph = import_graph(package)
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or name not in graph or name in skip:
            continue
        seen.add(name)
        todo += graph[name]
        todo += [name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)]  # its packages
    files = {_module_name(p, package): p for p in package.rglob("*.py")}
    chosen = sorted(files[name] for name in seen)
    if within is None:
        return chosen
    return [p for p in chosen if p.relative_to(package).parts[0] in within]


def code_digest(
    module: str,
    within: tuple[str, ...] | None = None,
    package: Path = PACKAGE,
    skip: tuple[str, ...] = (),
) -> str:
    """A hash of :func:`module_files` (their paths in the package and their bytes)."""
    digest = hashlib.sha256()
    for path in module_files(module, within, package, skip):
        digest.update(path.relative_to(package.parent).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def loader_version(package: Path = PACKAGE) -> str:
    """The version of the loader's code (:data:`LOADER`, 16 characters): what each file's load
    records (raw.load_log.loader_version) and the raw tables' code version in Dagster."""
    module, within, skip = LOADER
    return code_digest(module, within, package, skip)[:16]
