"""A questionnaire export rendered by a real Celery worker, then downloaded by its link
(202 while the worker has not written it yet). Everything commits on a merchant of
the test's own."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import CampaignStatus
from campaigns.questionnaires import services as questionnaires
from campaigns.services import set_status
from core.db import connection
from points import services as points
from tenants.onboarding import create_merchant
from tests.fixtures.api import streamed_body

pytestmark = pytest.mark.celery_worker

SIZE = 12


def test_worker_renders_the_responses_export(
    committed_db: None, celery_worker: Any, unique: Callable[[str], str], new_phone
) -> None:
    merchant = create_merchant(slug=unique("survey"), name="Survey export merchant")
    points.fund_with_money(
        merchant, amount_minor=1_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    people = [User.objects.get_or_create_consumer(new_phone())[0] for _ in range(SIZE)]
    with tenant_context(merchant):
        campaign = questionnaires.create_questionnaire_campaign(
            name="Export",
            questions=[{"id": "stars", "type": "rating", "text": "Rate us", "required": True}],
            points_per_response=1,
            max_rewarded_responses=SIZE,
        )
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
        for i, person in enumerate(people):
            questionnaires.submit(merchant, person, campaign.pk, {"stars": 1 + i % 5}, "k")
        path = questionnaires.request_export(merchant.pk, campaign, "csv")
    connection.set_schema_to_public()
    client = Client()
    deadline = time.monotonic() + 90
    response = client.get(path)
    while response.status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.2)
        response = client.get(path)
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(streamed_body(response).decode("utf-8-sig"))))
    assert table[0] == ["submitted_at", "masked_phone", "version", "stars"]
    assert [row[1] for row in table[1:]] == [p.masked_phone for p in people]
    assert [row[3] for row in table[1:]] == [str(1 + i % 5) for i in range(SIZE)]
    folder = f"questionnaire-exports/{merchant.schema_name}"
    for name in default_storage.listdir(folder)[1]:
        default_storage.delete(f"{folder}/{name}")
