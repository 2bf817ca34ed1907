"""The dbt-duckdb plugin that loads the raw files (python_ml/warehouse/dbt_plugin.py): dbt's
threads open their connections at once, and the files are checked and loaded by one of them
while the others wait."""

from __future__ import annotations

import threading
import time

import duckdb
import pytest
from dbt_common.exceptions import DbtRuntimeError

from python_ml.warehouse import dbt_plugin
from python_ml.warehouse.dbt_plugin import Plugin


@pytest.fixture(autouse=True)
def outside_any_dbt_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin as a caller that runs dbt some other way meets it: no dbt command named and
    the autoload not turned off. dbt keeps its flags in the process once an in-process dbt
    command ran (another test's `dbt compile`, say), and the plugin reads the command from
    them: on CI's shared worker this test then met `compile`, which loads nothing."""
    monkeypatch.setattr(dbt_plugin, "_dbt_command", lambda: None)
    monkeypatch.delenv("MUSIC_AUTOLOAD_RAW", raising=False)


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


def test_the_plugin_is_off_where_autoload_is_false(monkeypatch: pytest.MonkeyPatch) -> None:
    """MUSIC_AUTOLOAD_RAW, read by the plugin itself (not rendered in the profile, whose hash
    dbt's partial parsing compares), or a profile's own ``autoload``."""

    def enabled(config: dict[str, str]) -> bool:
        plugin = Plugin.__new__(Plugin)
        plugin.initialize(config)
        return plugin.enabled

    monkeypatch.delenv("MUSIC_AUTOLOAD_RAW", raising=False)
    assert enabled({})  # a user's plain `dbt build`
    monkeypatch.setenv("MUSIC_AUTOLOAD_RAW", "false")  # python_ml's own dbt commands
    assert not enabled({})
    assert enabled({"autoload": "true"})
    monkeypatch.setenv("MUSIC_AUTOLOAD_RAW", " No ")
    assert not enabled({})
    monkeypatch.delenv("MUSIC_AUTOLOAD_RAW")
    assert not enabled({"autoload": "false"})

    plugin = Plugin.__new__(Plugin)
    plugin.initialize({"autoload": "false"})
    plugin._load_stale = lambda conn: (_ for _ in ()).throw(AssertionError("loaded"))  # type: ignore[method-assign]
    with duckdb.connect() as con:
        plugin.configure_connection(con)


def test_with_the_autoload_off_a_load_log_from_an_older_loader_says_what_to_do() -> None:
    def plugin_off() -> Plugin:
        plugin = Plugin.__new__(Plugin)
        plugin.initialize({"autoload": "false"})
        return plugin

    with duckdb.connect() as con:
        plugin_off().configure_connection(con)  # no log yet: nothing to say
        con.execute("create schema raw")
        con.execute("create table raw.load_log (dataset varchar, file_sha256 varchar)")
        with pytest.raises(DbtRuntimeError) as caught:
            plugin_off().configure_connection(con)
        message = str(caught.value)
        assert "raw.load_log is from an older python_ml" in message
        assert "each raw file's origin" in message and "python -m python_ml load" in message
        con.execute("alter table raw.load_log add column data_origin varchar")
        with pytest.raises(DbtRuntimeError) as caught:
            plugin_off().configure_connection(con)
        assert "each raw file's loader version" in str(caught.value)
        con.execute("alter table raw.load_log add column loader_version varchar")
        plugin_off().configure_connection(con)  # the log records all: dbt goes on
