"""The merchant's analytics as CSV: ``analyticsCsv`` gives a signed link, the link the file."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from analytics import downloads, queries
from analytics.rollup import rollup
from analytics.tests.conftest import FIRST, LAST, World
from tests.fixtures.api import Api, access_token, signed_ago
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db

PERIOD = {"from": "2021-03-01", "to": "2021-03-21"}


def _link(api: Api, user: Any, merchant: str, period: dict[str, str] = PERIOD) -> dict:
    return api.op("AnalyticsCsv", period, token=access_token(user), merchant=merchant)


def _rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_a_viewer_gets_a_link_to_the_merchants_own_figures(
    world: World, merchant_api: Api, tenants: Tenants
) -> None:
    rollup(FIRST, LAST)
    before = timezone.now()
    result = _link(merchant_api, tenants.acme_viewer, "acme")
    assert "errors" not in result, result
    link = result["data"]["analyticsCsv"]
    assert link["url"].startswith("http://testserver/reports/analytics/")
    expires = parse_datetime(link["expiresAt"])
    assert expires is not None
    assert before + timedelta(minutes=14) < expires <= timezone.now() + timedelta(minutes=15)

    response = Client().get(link["url"])  # no token, no session: the link is enough
    assert (
        'filename="analytics-acme-2021-03-01-2021-03-21.csv"' in (response["Content-Disposition"])
    )
    rows = _rows(response)
    # The same figures as the analytics field: the file is queries.to_csv of them.
    expected = queries.to_csv(queries.summary(world.m.pk, FIRST, LAST))
    assert rows == list(csv.reader(io.StringIO(expected)))
    assert rows[1] == ["2021-03-01", "2", "2", "2", "2", "0", "2", "2", "1", "0", "0"]
    assert ["3", "2", "2", "0.6667"] in rows  # reached, repeat, redeemed, share

    # Beta's owner gets beta's figures: N reached 2, none repeat, 1 has redeemed.
    beta = _link(merchant_api, tenants.beta_owner, "beta")["data"]["analyticsCsv"]
    assert ["2", "0", "1", "0.5000"] in _rows(Client().get(beta["url"]))


def test_the_link_names_its_merchant_and_cannot_be_changed_to_another(
    world: World, merchant_api: Api, tenants: Tenants
) -> None:
    url = _link(merchant_api, tenants.acme_viewer, "acme")["data"]["analyticsCsv"]["url"]
    token = url.rstrip("/").rsplit("/", 1)[-1]
    assert downloads.MERCHANT_CSV.read(token) == (tenants.acme.pk, "2021-03-01", "2021-03-21")
    # The payload is readable (base64 JSON), but changing the merchant breaks the signature.
    payload, rest = token.split(":", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["m"] = tenants.beta.pk
    forged = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
    forged_token = forged.decode().rstrip("=") + ":" + rest
    response = Client().get(f"/reports/analytics/{forged_token}/")
    assert response.status_code == 403 and b"not valid" in response.content
    # An operator's token is not a merchant's.
    operator_token = downloads.PLATFORM_CSV.token(1, "2021-03-01", "2021-03-21")
    assert Client().get(f"/reports/analytics/{operator_token}/").status_code == 403


def test_an_expired_or_unknown_merchant_link_says_so(tenants: Tenants) -> None:
    link = downloads.MERCHANT_CSV
    old = signed_ago(link, 15 * 60 + 5, tenants.acme.pk, "2021-03-01", "2021-03-21")
    response = Client().get(f"/reports/analytics/{old}/")
    assert response.status_code == 410
    assert b"expired. Get a new one from the merchant console." in response.content
    assert response["Cache-Control"] == "no-store"
    gone = link.path(999_999, "2021-03-01", "2021-03-21")
    assert Client().get(gone).status_code == 404


def test_a_long_or_reversed_period_is_refused_before_any_link(
    merchant_api: Api, tenants: Tenants
) -> None:
    for period in (
        {"from": "2021-03-02", "to": "2021-03-01"},
        {"from": "2020-01-01", "to": "2021-03-01"},
    ):
        result = _link(merchant_api, tenants.acme_viewer, "acme", period)
        assert result["data"] is None
        assert result["errors"][0]["extensions"]["code"] == "INVALID_PERIOD"
