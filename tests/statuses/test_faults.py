"""A load killed with SIGKILL in the middle of writing leaves the store as before, on both engines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine

from kruispunt.config import Settings
from kruispunt.statuses import load_status_feed, person_statuses
from tests.statuses.helpers import count, events, registered_household, write_statuses

# Loads a feed in a child process that stops right after its first bulk write, inside the transaction.
_CHILD = """
import sys, time
from pathlib import Path
import kruispunt.statuses.load as load_module
from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings

url, feed, marker = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
real_insert = load_module.bulk_insert

def insert_then_stall(conn, table, frame, **options):
    written = real_insert(conn, table, frame, **options)
    marker.write_text(str(written))
    time.sleep(600)
    return written

load_module.bulk_insert = insert_then_stall
engine = bootstrap(Settings(home=marker.parent / "child-home", database_url=url)).engine
load_module.load_status_feed(engine, feed, source="NIC")
"""


def _kill_mid_load(settings: Settings, feed: Path, tmp_path: Path) -> None:
    marker = tmp_path / "written"
    assert settings.database_url is not None
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, settings.database_url, str(feed), str(marker)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    deadline = time.monotonic() + 180
    while not marker.exists():
        if child.poll() is not None:
            raise AssertionError(
                f"the load ended before writing: {child.stderr.read() if child.stderr else ''}"
            )
        assert time.monotonic() < deadline, "the child never reached its first write"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL


def test_kill_9_mid_load_leaves_the_store_as_before(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    jan, els, _ = registered_household(engine, tmp_path)
    load_status_feed(
        engine, write_statuses(tmp_path / "first.csv", [(jan, "VT", "2020-01-01", "", "NIC")]), source="NIC"
    )
    before = (count(engine, "status_period"), count(engine, "status_load"), events(engine))
    changed = write_statuses(
        tmp_path / "second.csv",
        [(jan, "VT", "2020-01-01", "2021-12-31", "NIC"), (els, "VT_DEPENDANT", "2020-01-01", "", "NIC")],
    )
    _kill_mid_load(settings, changed, tmp_path)
    assert (count(engine, "status_period"), count(engine, "status_load"), events(engine)) == before
    assert [p.end_date for p in person_statuses(engine, jan)] == [None]
    assert person_statuses(engine, els) == []
    # The store is not left locked: the same load now goes through.
    report = load_status_feed(engine, changed, source="NIC")
    assert (report.ended, report.started) == (1, 1)
