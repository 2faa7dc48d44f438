"""deploy/Procfile's processes, started as a host starts them (decision 0237).

The release step, then web, worker and beat together against the test database and
this run's Redis, with production's static files: the web process answers /healthz,
/readyz and pages with hashed scripts and logs JSON with request ids; beat sends a
due task that the worker runs. Fails if a line of the Procfile does not start, if
/readyz does not see the migrations, or if beat and worker do not meet on the broker.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from config.celery import app
from deploy.procfile import command, processes
from deploy.topology import Topology
from tenants.tasks import schema_probe
from tests.fixtures.processes import ROOT, child_env, free_port, running, wait_for_http


def _wait_for(log: Path, pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(errors="replace"))
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no {pattern!r} in {log}:\n{log.read_text(errors='replace')}")


def test_the_procfile_names_the_four_processes() -> None:
    assert set(processes()) == {"release", "web", "worker", "beat"}


def test_the_topologys_hosts_run_the_procfiles_lines(tmp_path: Path) -> None:
    """deploy/topology.py spells no command of its own: each host runs Procfile lines,
    beat on one host only (tests/test_topology.py runs them)."""
    topology = Topology(tmp_path, "loyalty", app_hosts=2, worker_hosts=2)
    topology.hosts = topology.plan()
    run = {host.name: topology.commands(host) for host in topology.hosts}
    assert set(run) == {"lt-app1", "lt-app2", "lt-work1", "lt-work2"}
    assert run["lt-app1"] == run["lt-app2"] == {"web": command("web")}
    assert run["lt-work1"] == {
        "worker": command("worker", "--pool", "solo", "--hostname", "lt-work1@%h")
    }
    assert run["lt-work2"] == {
        "worker": command("worker", "--pool", "solo", "--hostname", "lt-work2@%h"),
        "beat": command("beat"),
    }
    lines = processes()
    assert command("web") == ["bash", "-c", "exec " + lines["web"]]
    assert command("release") == ["bash", "-c", lines["release"]]  # a list: not exec'd


@pytest.mark.django_db
def test_release_web_worker_and_beat_start_and_work_together(tmp_path: Path) -> None:
    import subprocess

    queue = f"deploy-{uuid.uuid4().hex[:10]}"
    port = free_port()
    env = child_env(
        STATIC_HASHED="1",
        STATIC_ROOT=str(tmp_path / "static"),
        LOG_FORMAT="json",
        PORT=str(port),
        WEB_WORKERS="1",
        WEB_THREADS="2",
        BEAT_SCHEDULE_FILE=str(tmp_path / "beat-schedule"),
        # Beat sends the webhook sweep every second, to a queue only this worker reads.
        WEBHOOK_SWEEP_INTERVAL_SECONDS="1",
        CELERY_TASK_DEFAULT_QUEUE=queue,
    )
    release = subprocess.run(
        command("release"), cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert release.returncode == 0, release.stdout + release.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()

    logs = {name: tmp_path / f"{name}.log" for name in ("web", "worker", "beat")}
    with (
        running(command("web"), env=env, log=logs["web"]) as web,
        running(command("worker"), env=env, log=logs["worker"]),
        running(command("beat"), env=env, log=logs["beat"]),
    ):
        base = f"http://127.0.0.1:{port}"
        wait_for_http(base + "/healthz", web, logs["web"], timeout=60)
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=10) as answer:
                ready = json.loads(answer.read())
        except urllib.error.HTTPError as refused:
            ready = json.loads(refused.read())
        assert ready["status"] == "ok", ready
        assert set(ready["checks"]) >= {"database", "redis", "public_schema", "template_schema"}

        request = urllib.request.Request(base + "/scan", headers={"X-Request-ID": "probe-1234abcd"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.headers["X-Request-ID"] == "probe-1234abcd"
            page = answer.read().decode()
        assert re.search(r"/static/consumer/camera\.[0-9a-f]{12}\.js", page), page
        missing = urllib.request.Request(base + "/nope", headers={"X-Request-ID": "probe-5678efgh"})
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(missing, timeout=10)
        line = _wait_for(logs["web"], r'\{[^\n]*"request_id": "probe-5678efgh"[^\n]*\}', 20)
        assert json.loads(line)["message"] == "Not Found: /nope"

        # The worker answers a task; beat's due sweep reaches it through the broker.
        app.conf.task_always_eager = False
        try:
            probe = schema_probe.apply_async(queue=queue)
            assert probe.get(timeout=90) == "public", logs["worker"].read_text()
        finally:
            app.conf.task_always_eager = True
        _wait_for(logs["beat"], r"Sending due task send-due-webhooks", 60)
        _wait_for(logs["worker"], r"webhooks\.tasks\.send_due\[[^\]]+\] succeeded", 60)
