"""PostgreSQL restarted under load: requests fail cleanly, then the app recovers by itself.

Never the machine's shared PostgreSQL: the test makes a private cluster
(``initdb``/``pg_ctl`` from the Debian packages, as the ``postgres`` system user
when run as root) on a free port in a temporary directory, migrates a database
in it, seeds a merchant with codes and a consumer, and serves the app with
gunicorn against it. Four client threads claim codes (a write through the ledger)
and read the wallet while the cluster is restarted (``pg_ctl restart -m fast``).

What must hold: every answer is a success or a 503 with ``SERVICE_UNAVAILABLE``
(never a 500, no traceback in gunicorn's log); requests succeed again after the
restart with the same gunicorn processes; retrying the refused claims with their
idempotency keys claims each code exactly once; ``ledger_check`` is clean.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from string import Template
from typing import Any

import pytest

from tests.fixtures.postgres import PG_BIN, PrivateCluster, pg_bin
from tests.fixtures.processes import free_port, start_process, stop_process

pytestmark = [pytest.mark.faults]

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 4
# Per client: below the claim rate limit (120 a minute per consumer) with the retries.
CODES = CLIENTS * 50
POINTS = 5
CLAIM = (ROOT / "graphql/operations/consumer/ClaimCode.graphql").read_text()
WALLET = "{ wallet { balance } }"

SEED = Template("""
import json
from django_tenants.utils import tenant_context
from accounts import tokens
from accounts.models import User
from campaigns.scan.generation import generate_batch
from campaigns.models import CampaignStatus, Code
from campaigns.scan.services import create_batch, create_scan_campaign
from campaigns.services import set_status
from points import services
from tenants.onboarding import create_merchant

merchant = create_merchant(slug="restart", name="Restart Co")
services.fund_with_money(merchant, amount_minor=$codes * $points, currency="CNY",
                         rate="100", payment_reference="restart-pay")
with tenant_context(merchant):
    campaign = create_scan_campaign(name="Caps")
    set_status(merchant, campaign, CampaignStatus.ACTIVE)
    batch = create_batch(merchant, campaign, size=$codes, points_per_code=$points)
    generate_batch(batch.pk)
    codes = list(Code.objects.filter(batch_id=batch.pk).values_list("code", flat=True))
users = [User.objects.get_or_create_consumer(f"+861370000000{i}")[0] for i in range($clients)]
tokens = [tokens.issue(user).access_token for user in users]
print("SEED" + json.dumps({"codes": codes, "tokens": tokens}))
""").substitute(codes=CODES, points=POINTS, clients=CLIENTS)


def _post(port: int, query: str, variables: dict[str, Any], token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql/",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, {"raw": body.decode(errors="replace")[:500]}


def _outcome(status: int, body: dict) -> str:
    """``ok``, a clean refusal's code, or ``BAD <status> <body>`` for anything else."""
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    payload = (body.get("data") or {}).get("claimCode")
    if payload:
        codes += [e["code"] for e in payload["errors"]]
    if status == 200 and not codes:
        return "ok"
    if status in (200, 503) and codes and set(codes) <= {"SERVICE_UNAVAILABLE"}:
        return "SERVICE_UNAVAILABLE"
    return f"BAD {status} {json.dumps(body)[:300]}"


@pytest.mark.skipif(PG_BIN is None, reason="PostgreSQL server binaries are not installed")
@pytest.mark.timeout(240)
def test_postgres_restart_under_load(tmp_path: Path) -> None:
    # Not under tmp_path: pytest's base directory is private to root (0700), and the
    # server runs as the postgres user when we are root.
    base = Path(tempfile.mkdtemp(prefix="loyalty-pg-"))
    if os.geteuid() == 0:
        pwd.getpwnam("postgres")  # the system user must exist
        base.chmod(0o755)
    cluster = PrivateCluster(base)
    cluster.init()
    cluster.ctl("start")
    gunicorn = None
    try:
        subprocess.run(
            [pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U",
             "postgres", "loyalty_restart"],
            check=True, capture_output=True,
        )  # fmt: skip
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": cluster.url("loyalty_restart"),
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "LOG_LEVEL": "WARNING",
            # Rate-limit counters of its own: consumer ids here repeat the test database's.
            "CACHE_KEY_PREFIX": f"pg-restart-{uuid.uuid4().hex[:8]}",
        }
        manage = [sys.executable, "manage.py"]
        started = time.monotonic()
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=180)
        seeded = subprocess.run(
            [*manage, "shell", "-c", SEED], env=env, cwd=ROOT, check=True, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        seed = json.loads(seeded.stdout.split("SEED", 1)[1])
        codes, tokens = seed["codes"], seed["tokens"]

        prepared = time.monotonic()
        port = free_port()
        gunicorn_log = tmp_path / "gunicorn.log"
        gunicorn = start_process(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}",
             "-w", "2", "--threads", "2", "--timeout", "60"],
            env=env, log=gunicorn_log,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if _post(port, WALLET, {}, tokens[0])[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, gunicorn_log.read_text()
            time.sleep(0.2)

        # --- Load, restart, load -----------------------------------------------------
        outcomes: list[tuple[float, str, str]] = []  # (time, what, outcome)
        refused_claims: list[tuple[str, str, str]] = []  # (token, code, key)
        lock = threading.Lock()
        stop = threading.Event()

        def client(n: int) -> None:
            """Claims its share of the codes, each followed by a wallet read; then
            reads the wallet until stopped (so that there is load after the restart)."""
            token, mine = tokens[n], codes[n::CLIENTS]
            while not stop.is_set():
                results = []
                if mine:
                    code, key = mine.pop(), f"restart-{n}-{len(mine)}"
                    variables = {"code": code, "idempotencyKey": key}
                    claim = _outcome(*_post(port, CLAIM, variables, token))
                    results.append((time.monotonic(), "claim", claim))
                    if claim != "ok":
                        with lock:
                            refused_claims.append((token, code, key))
                results.append(
                    (time.monotonic(), "wallet", _outcome(*_post(port, WALLET, {}, token)))
                )
                with lock:
                    outcomes.extend(results)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(2)
        restart_started = time.monotonic()
        cluster.ctl("restart")
        restart_ended = time.monotonic()
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join(timeout=60)

        counts = Counter(outcome for _t, _what, outcome in outcomes)
        bad = [o for o in counts if o.startswith("BAD")]
        assert not bad, counts
        log_text = gunicorn_log.read_text()
        assert "Traceback" not in log_text and "Internal Server Error" not in log_text, log_text
        after = [o for t, _w, o in outcomes if t > restart_ended + 1]
        assert after and set(after) == {"ok"}, Counter(after)  # recovered, same processes
        assert gunicorn.poll() is None
        print(
            f"\nmigrate and seed {prepared - started:.1f}s; "
            f"PostgreSQL restart took {restart_ended - restart_started:.1f}s; "
            f"answers: {dict(counts)}"
        )

        # --- Retry what was refused; every code claimed exactly once ---------------
        for token, code, key in refused_claims:
            variables = {"code": code, "idempotencyKey": key}
            assert _outcome(*_post(port, CLAIM, variables, token)) == "ok"
        claimed = sum(1 for _t, what, _o in outcomes if what == "claim")
        balances = [
            _post(port, WALLET, {}, token)[1]["data"]["wallet"]["balance"] for token in tokens
        ]
        assert sum(balances) == claimed * POINTS, (balances, claimed)
        check = subprocess.run(
            [*manage, "ledger_check"], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        if gunicorn is not None:
            stop_process(gunicorn)
        cluster.ctl("stop")
        shutil.rmtree(base, ignore_errors=True)
