"""Code imports run by a real Celery worker: queued by the upload, delivered twice at once.

The shared ``celery_worker`` (tests/fixtures/processes.py) takes the tasks through
Redis; everything commits (``committed_db``), each test on a merchant of its own.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import pytest
from django.core.files.base import ContentFile
from django_tenants.utils import tenant_context

from campaigns.models import CampaignStatus, Code, CodeBatch, CodeImport, ImportStatus
from campaigns.scan import imports, services
from campaigns.scan.tasks import import_codes
from campaigns.services import set_status
from core.db import connection
from points import services as points
from tenants.models import CodeRoute, Merchant
from tenants.onboarding import create_merchant

pytestmark = pytest.mark.celery_worker

SIZE = 30_000  # a few chunks of the check (importing.CHUNK_LINES is larger: one chunk here)


def _merchant(unique: Callable[[str], str]) -> Merchant:
    merchant = create_merchant(slug=unique("imp"), name="Import test merchant")
    points.fund_with_money(
        merchant, amount_minor=SIZE, currency="CNY", rate="100", payment_reference=unique("pay")
    )
    return merchant


def _file() -> bytes:
    return "".join(f"{secrets.randbelow(10**20):020d}\n" for _ in range(SIZE)).encode()


def _wait(import_id: int, timeout: float = 120) -> CodeImport:
    deadline = time.monotonic() + timeout
    while True:
        found = CodeImport.objects.get(pk=import_id)
        if found.is_finished:
            return found
        assert time.monotonic() < deadline, f"import {import_id} still {found.status}"
        time.sleep(0.2)


def test_an_upload_is_imported_by_the_worker_and_twice_delivered_is_written_once(
    celery_worker: object, committed_db: None, unique: Callable[[str], str]
) -> None:
    merchant = _merchant(unique)
    with tenant_context(merchant):
        campaign = services.create_scan_campaign(name="Printed caps")
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
        code_import = imports.request_import(
            merchant, campaign, layout="codes", file_format="csv", points_per_code=1
        )
        # The upload queues the task once the row commits; a duplicate delivery races it.
        imports.receive_file(code_import, ContentFile(_file(), name="codes.csv"))
        schema = connection.schema_name
        import_codes.apply_async((code_import.pk,), headers={"_schema_name": schema})
        done = _wait(code_import.pk)
        assert (done.status, done.accepted, done.refused) == (ImportStatus.IMPORTED, SIZE, 0)
        assert CodeBatch.objects.filter(campaign=campaign).count() == 1
        assert Code.objects.filter(batch_id=done.batch_id).count() == SIZE
        assert done.batch is not None
        assert services.reserve_left(merchant, done.batch) == SIZE
    assert CodeRoute.objects.filter(merchant_id=merchant.pk).count() == SIZE
