"""The dbt-duckdb plugin that loads the raw files (python_ml/warehouse/dbt_plugin.py): dbt's
threads open their connections at once, and the files are checked and loaded by one of them
while the others wait."""

from __future__ import annotations

import threading
import time

from python_ml.warehouse.dbt_plugin import Plugin


def test_connections_opened_at_once_load_the_raw_files_once_and_wait_for_it() -> None:
    plugin = Plugin.__new__(Plugin)  # without dbt's plugin loader
    plugin.initialize({})
    calls: list[str] = []
    finished: list[float] = []

    def load(conn: str) -> None:
        calls.append(conn)
        time.sleep(0.3)  # the imports and the load take time: the other threads arrive meanwhile
        finished.append(time.monotonic())

    plugin._load_stale = load  # type: ignore[method-assign]
    returned: dict[str, float] = {}

    def connect(name: str) -> None:
        plugin.configure_connection(name)
        returned[name] = time.monotonic()

    threads = [threading.Thread(target=connect, args=(f"c{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert all(at >= finished[0] for at in returned.values())  # none went on before the load
    plugin.configure_connection("later")
    assert len(calls) == 1


def test_the_plugin_is_off_where_autoload_is_false() -> None:
    plugin = Plugin.__new__(Plugin)
    plugin.initialize({"autoload": "false"})
    plugin._load_stale = lambda conn: (_ for _ in ()).throw(AssertionError("loaded"))  # type: ignore[method-assign]
    plugin.configure_connection("c")
