"""A code import has one runner at a time by a lease in its own row (issue 25, decision 0300).

A session advisory lock cannot do this behind PgBouncer in transaction pooling: each
transaction may run on another server connection, and two clients whose transactions
share one server connection share its session, so both "hold" the lock. The lease is
a row: claimed by a conditional ``UPDATE``, renewed inside each of the runner's
transactions, released at the end, and taken over once it has expired (a crashed
worker's). Checked here:

- two runners race for the same import through a PgBouncer whose pool has **one**
  server connection (where the advisory lock was shared): the import is written once;
- an import leased by another runner is left alone; once that lease has expired (the
  runner crashed), the next runner takes it over and imports the file;
- a runner whose lease was taken over stops at its next step and writes nothing more.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections
from django.utils import timezone
from django_tenants.utils import tenant_context

from campaigns.models import CampaignStatus, Code, CodeBatch, CodeImport, ImportStatus
from campaigns.scan import importing, imports, services
from campaigns.services import set_status
from core.db.base import DatabaseWrapper
from points import services as points
from tenants.models import Merchant
from tenants.onboarding import create_merchant
from tests.fixtures.concurrency import run_in_threads
from tests.fixtures.postgres import PGBOUNCER, PgBouncer

pytestmark = pytest.mark.usefixtures("committed_db")

SIZE = 3_000


def _import(unique: Callable[[str], str]) -> tuple[Merchant, CodeImport]:
    """A merchant with an uploaded file of ``SIZE`` codes, not yet run."""
    merchant = create_merchant(slug=unique("lease"), name="Lease test merchant")
    points.fund_with_money(
        merchant, amount_minor=SIZE, currency="CNY", rate="100", payment_reference=unique("pay")
    )
    content = "".join(f"{secrets.randbelow(10**20):020d}\n" for _ in range(SIZE)).encode()
    with tenant_context(merchant):
        campaign = services.create_scan_campaign(name="Printed caps")
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
        code_import = imports.request_import(
            merchant, campaign, layout="codes", file_format="csv", points_per_code=1
        )
        # Stored without queueing the task: the test runs the runners itself.
        code_import.file_name = default_storage.save(
            f"code-imports/{unique('lease')}.csv", ContentFile(content)
        )
        code_import.status = ImportStatus.VALIDATING
        code_import.save(update_fields=["file_name", "status"])
    return merchant, code_import


def _imported_once(merchant: Merchant, code_import: CodeImport) -> CodeImport:
    with tenant_context(merchant):
        done = CodeImport.objects.get(pk=code_import.pk)
        assert (done.status, done.accepted, done.refused) == (ImportStatus.IMPORTED, SIZE, 0)
        assert CodeBatch.objects.filter(campaign_id=done.campaign_id).count() == 1
        assert Code.objects.filter(batch_id=done.batch_id).count() == SIZE
        assert (done.lease_owner, done.lease_until) == ("", None)  # released
    return done


@pytest.mark.skipif(not Path(PGBOUNCER).exists(), reason="pgbouncer is not installed")
@pytest.mark.timeout(180)
def test_two_runners_behind_pgbouncer_import_the_file_once(
    bouncer: PgBouncer, unique: Callable[[str], str]
) -> None:
    merchant, code_import = _import(unique)
    pooled = {
        **connections["default"].settings_dict,
        "HOST": "127.0.0.1",
        "PORT": str(bouncer.port),
        "TRANSACTION_POOLING": True,
        "DISABLE_SERVER_SIDE_CURSORS": True,
    }

    def runner(_i: int) -> str:
        # This thread's default connection goes through the pool, as a worker's would
        # with DATABASE_TRANSACTION_POOLING (connections are per thread).
        wrapper = DatabaseWrapper(pooled, "default")
        connections["default"] = wrapper
        wrapper.set_tenant(merchant)
        return str(importing.run_import(code_import.pk).status)

    results = run_in_threads(2, runner)
    assert [status for status, _value in results] == ["ok", "ok"], results
    _imported_once(merchant, code_import)


def test_a_leased_import_is_left_alone_until_the_lease_expires(
    unique: Callable[[str], str],
) -> None:
    merchant, code_import = _import(unique)
    with tenant_context(merchant):
        rows = CodeImport.objects.filter(pk=code_import.pk)
        # Another worker holds it, then crashes: its lease stays until it expires.
        rows.update(lease_owner="crashed-worker", lease_until=timezone.now() + timedelta(minutes=1))
        left = importing.run_import(code_import.pk)
        assert (left.status, left.lines_read) == (ImportStatus.VALIDATING, 0)
        assert rows.get().lease_owner == "crashed-worker"

        rows.update(lease_until=timezone.now() - timedelta(seconds=1))
        importing.run_import(code_import.pk)
    _imported_once(merchant, code_import)


def test_a_runner_whose_lease_was_taken_over_stops(unique: Callable[[str], str]) -> None:
    merchant, code_import = _import(unique)
    with tenant_context(merchant):
        lease = importing.Lease.claim(code_import.pk)
        assert lease is not None
        assert importing.Lease.claim(code_import.pk) is None  # held
        lease.renew()
        # It stalled past its lease; another runner took the import over.
        rows = CodeImport.objects.filter(pk=code_import.pk)
        rows.update(lease_until=timezone.now() - timedelta(seconds=1))
        other = importing.Lease.claim(code_import.pk)
        assert other is not None and other.owner != lease.owner
        with pytest.raises(importing.LeaseLost):
            lease.renew()
        lease.release()  # not its own any more: leaves the other's alone
        assert rows.get().lease_owner == other.owner
        other.release()
        assert (rows.get().lease_owner, rows.get().lease_until) == ("", None)
