"""A streaming replica serving the catalogue, with read-your-writes (issue 25, decision 0243).

Never the machine's shared PostgreSQL: a private primary (``initdb``), migrated, and its
streaming replica (``pg_basebackup -R``), both on free ports. ``tests/replica_probe.py``
runs against them in a process of its own (the settings name the replica at start-up)
and reports each step; this test checks them:

- caught up: reads go to the replica, and the replica connection carries the tenant;
- read-your-writes: with the replica's replay paused, the consumer who has just redeemed
  reads the mall from the primary (the stock their order took) while an anonymous reader
  still gets the replica's older stock; once replayed, the consumer is back on the replica;
- lagging: replay paused while the primary writes on: reads fall back to the primary,
  and return to the replica when it catches up;
- down: the replica stopped: reads go to the primary at once, without waiting for a
  connect timeout the second time;
- exports (decision 0301): a batch export's codes are read from the replica, except
  while it has not replayed the export's request (the codes of a batch made while replay
  is paused come from the primary, whole, where the replica has none of them); the
  analytics CSV's figures from the replica, or the primary while it lags; and an export
  whose replica connection dies between two pages finishes on the primary.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.postgres import PG_BIN, PrivateCluster, pg_bin

pytestmark = [pytest.mark.faults]

ROOT = Path(__file__).resolve().parent.parent


def _steps(env: dict[str, str], phase: str) -> dict[str, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.replica_probe", phase],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    steps = [json.loads(line[5:]) for line in done.stdout.splitlines() if line.startswith("STEP ")]
    return {step.pop("step"): step for step in steps}


@pytest.mark.skipif(PG_BIN is None, reason="PostgreSQL server binaries are not installed")
@pytest.mark.timeout(600)
def test_replica_reads_with_read_your_writes_lag_and_down() -> None:
    base = Path(tempfile.mkdtemp(prefix="loyalty-replica-"))
    if os.geteuid() == 0:
        base.chmod(0o755)
    (base / "primary").mkdir()
    (base / "replica").mkdir()
    primary = PrivateCluster(base / "primary")
    standby = PrivateCluster(base / "replica")
    primary.init()
    primary.ctl("start")
    try:
        subprocess.run(
            [*primary.as_user, pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(primary.port),
             "-U", "postgres", "loyalty_replica"],
            check=True, capture_output=True,
        )  # fmt: skip
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": primary.url("loyalty_replica"),
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "LOG_LEVEL": "WARNING",
            "CACHE_KEY_PREFIX": f"replica-{uuid.uuid4().hex[:8]}",
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            env=env, cwd=ROOT, check=True, timeout=240,
        )  # fmt: skip
        if standby.as_user:
            shutil.chown(standby.base, user="postgres")
        subprocess.run(
            [*standby.as_user, pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p",
             str(primary.port), "-U", "postgres", "-D", str(standby.data), "-R", "-X", "stream"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        standby.ctl("start")
        env["DATABASE_REPLICA_URL"] = standby.url("loyalty_replica")

        steps = _steps(env, "walk")
        assert steps["caught_up"] == {"alias": "replica"}
        assert steps["tenant"]["campaigns"] == steps["tenant"]["expected"] > 0
        pinned = steps["pinned"]
        before = pinned["before"]
        assert pinned["buyer"] == ["default", before - 1]  # their own order's stock
        assert pinned["anonymous"] == ["replica", before]  # the replica was behind
        assert steps["replayed"] == {"buyer": "replica", "stock": ["replica", before - 1]}
        assert steps["lagging"] == {"alias": "default"}
        assert steps["recovered"] == {"alias": "replica"}

        steps = _steps(env, "exports")
        assert steps["export_caught_up"] == {"alias": "replica"}
        pinned = steps["export_pinned"]
        size = pinned["size"]
        assert pinned["file"] == ["ready", size]
        assert pinned["codes_from"] == {"default": 3, "replica": 0}  # two pages, then none
        # Where an unpinned reader would have gone, and what it would have found there.
        assert (pinned["anonymous"], pinned["on_standby"]) == ("replica", 0)
        replayed = steps["export_replayed"]
        assert replayed["alias"] == "replica"
        assert replayed["file"] == ["ready", size]
        assert replayed["codes_from"] == {"default": 0, "replica": 3}
        caught_up = steps["analytics_caught_up"]["codes_from"]
        assert caught_up["default"] == 0 and caught_up["replica"] > 0
        lagging = steps["analytics_lagging"]
        assert lagging["alias"] == "default"
        assert lagging["codes_from"]["default"] > 0 and lagging["codes_from"]["replica"] == 0
        lost = steps["export_connection_lost"]
        assert lost["file"] == ["ready", size]
        # The first page failed on the replica (before its statement was sent: the
        # connection was gone) and was read again on the primary, as were the next;
        # the replica is marked down for the next reads.
        assert lost["codes_from"] == {"default": 3, "replica": 0}
        assert lost["marked_down"] is True

        standby.ctl("stop")
        down = _steps(env, "down")["down"]
        assert down["alias"] == down["again"] == "default"
        assert down["seconds"] < 5
    finally:
        for cluster in (standby, primary):
            with contextlib.suppress(AssertionError):  # not running
                cluster.ctl("stop")
