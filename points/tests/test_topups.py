# ruff: noqa: RUF001 (a Chinese note, with its full-width colon)
"""The budget's money equivalent and top-up requests (points/topups.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import User
from points import services
from points.models import TopUpRequest, TopUpStatus
from points.topups import Price
from tenants.models import Membership, Role
from tenants.onboarding import create_merchant
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("rate", "points", "minor"),
    [("100", 100_000, 100_000), ("100", 1, 1), ("3", 10, 333), ("100.5", 201, 200)],
)
def test_money_is_points_at_the_rate_rounded_down(rate: str, points: int, minor: int) -> None:
    from decimal import Decimal

    assert Price(Decimal(rate), "CNY").money_minor(points) == minor


def test_the_budget_says_what_it_cost_at_the_latest_money_rate(
    merchant_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    merchant = create_merchant(slug=unique("price"), name="Price Tea")
    owner = User.objects.create_user(f"{unique('o')}@m.test", "pw-long-enough-1", name="o")
    Membership.objects.create(merchant=merchant, user=owner, role=Role.VIEWER)

    def budget() -> dict[str, Any]:
        result = merchant_api.op("Merchant", token=access_token(owner), merchant=merchant.slug)
        assert "errors" not in result, result
        found: dict[str, Any] = result["data"]["budget"]
        return found

    assert budget()["money"] is None  # nothing bought yet
    for rate in ("50", "100"):
        services.fund_with_money(
            merchant,
            amount_minor=100_00,
            currency="CNY",
            rate=rate,
            payment_reference=unique("p"),
        )
    # 5,000 + 10,000 points; the latest price is 100 points a yuan.
    assert budget() == {
        "available": 15_000,
        "reserved": 0,
        "money": {
            "rate": "100",
            "currency": "CNY",
            "availableMinor": 150_00,
            "reservedMinor": 0,
        },
    }


def test_a_request_is_recorded_and_the_operators_are_emailed(
    merchant_api: Api,
    tenants: Tenants,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    operator = User.objects.create_user("ops@platform.test", "pw-long-enough-1", name="ops")
    operator.is_staff = True
    operator.save()
    operator.user_permissions.add(Permission.objects.get(codename="change_merchant"))
    User.objects.create_user("clerk@platform.test", "pw-long-enough-1", name="c", is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        result = merchant_api.op(
            "RequestTopUp",
            {"amountMinor": 500_000, "note": "发票抬头：莲花茶饮"},
            token=access_token(tenants.acme_admin),
            merchant="acme",
        )
    assert result["data"]["requestTopUp"] == {"requested": True, "errors": []}
    request = TopUpRequest.objects.get(merchant=tenants.acme)
    assert (request.amount_minor, request.currency, request.status) == (
        500_000,
        "CNY",
        TopUpStatus.OPEN,
    )
    assert request.requested_by == tenants.acme_admin and request.note == "发票抬头：莲花茶饮"
    [email] = mailoutbox
    assert email.to == ["ops@platform.test"]  # the clerk may not record top-ups
    assert "5,000.00" in email.subject and "Acme Tea" in email.subject
    assert f"/admin/tenants/merchant/{tenants.acme.pk}/top-up/" in email.body


@pytest.mark.parametrize("amount", [0, -5, 1_000_000_001])
def test_a_bad_amount_is_refused_and_nothing_is_recorded(
    merchant_api: Api, tenants: Tenants, amount: int
) -> None:
    result = merchant_api.op(
        "RequestTopUp",
        {"amountMinor": amount},
        token=access_token(tenants.acme_admin),
        merchant="acme",
    )
    errors = result["data"]["requestTopUp"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID_INPUT", "amountMinor")]
    assert not TopUpRequest.objects.exists()


def test_operators_see_and_close_requests_in_the_admin(client: Client, tenants: Tenants) -> None:
    from points.topups import request_top_up

    request = request_top_up(tenants.acme, tenants.acme_admin, 12_345, "please")
    admin = User.objects.create_superuser("root@platform.test", "pw-long-enough-1", name="root")
    client.force_login(admin)
    page = client.get("/admin/points/topuprequest/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    text = page.content.decode()
    assert "充值申请" in text and "¥123.45" in text and "待处理" in text
    client.post(
        "/admin/points/topuprequest/",
        {"action": "mark_done", "_selected_action": [request.pk]},
    )
    request.refresh_from_db()
    assert request.status == TopUpStatus.DONE and request.handled_at is not None
