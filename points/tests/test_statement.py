"""The merchant's statement: one line per movement, filters, paging, CSV (points/statement.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection as django_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from graphql_relay import to_global_id

from accounts.models import User
from campaigns.models import CampaignStatus, Code
from campaigns.scan.claims import claim_code
from campaigns.scan.generation import generate_batch
from campaigns.scan.services import create_batch, create_scan_campaign, void_batch
from campaigns.services import set_status
from core.db import connection
from points import services
from points.downloads import LEDGER_CSV
from points.models import Transaction
from tenants.models import Membership, Merchant, Role
from tenants.onboarding import create_merchant
from tests.fixtures.api import Api, access_token, signed_ago, streamed_body

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tenants")]


@dataclass
class Shop:
    merchant: Merchant
    owner: User
    caps: int  # campaign ids
    tins: int
    codes: list[str]


def make_shop(unique: Callable[[str], str], new_phone: Callable[[], str]) -> Shop:
    merchant = create_merchant(slug=unique("stmt"), name="Statement Tea")
    owner = User.objects.create_user(f"{unique('o')}@m.test", "pw-long-enough-1", name="o")
    Membership.objects.create(merchant=merchant, user=owner, role=Role.VIEWER)
    services.fund_with_money(
        merchant, amount_minor=100_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    with tenant_context(merchant):
        caps = create_scan_campaign(name="Caps")
        set_status(merchant, caps, CampaignStatus.ACTIVE)
        # 40 codes: the reserve is spread over 16 bucket accounts (17 postings).
        batch = generate_batch(create_batch(merchant, caps, size=40, points_per_code=5).pk)
        codes = list(
            Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True)
        )
        tins = create_scan_campaign(name="Tins")
        set_status(merchant, tins, CampaignStatus.ACTIVE)
        tin_batch = generate_batch(create_batch(merchant, tins, size=3, points_per_code=10).pk)
        void_batch(merchant, tin_batch)
    connection.set_schema_to_public()
    for code in codes[:2]:
        claim_code(User.objects.get_or_create_consumer(new_phone())[0], code, unique("c"))
        connection.set_schema_to_public()
    return Shop(merchant, owner, caps.pk, tins.pk, codes)


def movements(api: Api, shop: Shop, **variables: Any) -> dict[str, Any]:
    result = api.op(
        "LedgerMovements", variables, token=access_token(shop.owner), merchant=shop.merchant.slug
    )
    assert "errors" not in result, result
    page: dict[str, Any] = result["data"]["ledgerMovements"]
    return page


def campaign_id(shop: Shop, pk: int) -> str:
    return to_global_id("Campaign", f"{shop.merchant.pk}:{pk}")


def test_a_batch_is_one_line_with_its_buckets_folded(
    merchant_api: Api, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = make_shop(unique, new_phone)
    nodes = [edge["node"] for edge in movements(merchant_api, shop)["edges"]]
    # Newest first: 2 claims, the tins' release and reserve, the caps' reserve, the top-up.
    assert [n["kind"] for n in nodes] == [
        "AWARD",
        "AWARD",
        "RELEASE",
        "RESERVE",
        "RESERVE",
        "FUND_MONEY",
    ]
    claim, _claim, release, _tins, caps, top_up = nodes
    assert (caps["budgetChange"], caps["reserveChange"]) == (-200, 200)
    assert len(caps["postings"]) == 17  # the budget and 16 buckets, to expand
    assert sum(p["amount"] for p in caps["postings"] if p["account"] == "CAMPAIGN_RESERVE") == 200
    assert caps["campaign"] == campaign_id(shop, shop.caps)
    # A claim moves the reserve only; the consumer's wallet is not the merchant's to see.
    assert (claim["budgetChange"], claim["reserveChange"]) == (0, -5)
    assert [p["account"] for p in claim["postings"]] == ["CAMPAIGN_RESERVE"]
    assert (release["budgetChange"], release["reserveChange"]) == (30, -30)
    assert release["campaign"] == campaign_id(shop, shop.tins)
    assert (top_up["budgetChange"], top_up["reserveChange"], top_up["campaign"]) == (
        100_000,
        0,
        None,
    )


def test_filters_by_kind_campaign_and_time(
    merchant_api: Api, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = make_shop(unique, new_phone)

    def kinds(page: dict[str, Any]) -> list[str]:
        return [e["node"]["kind"] for e in page["edges"]]

    assert kinds(movements(merchant_api, shop, kind="AWARD")) == ["AWARD", "AWARD"]
    assert kinds(movements(merchant_api, shop, campaign=campaign_id(shop, shop.tins))) == [
        "RELEASE",
        "RESERVE",
    ]
    assert kinds(
        movements(merchant_api, shop, campaign=campaign_id(shop, shop.caps), kind="RESERVE")
    ) == ["RESERVE"]
    now = datetime.now(UTC)
    assert (
        len(movements(merchant_api, shop, since=(now - timedelta(hours=1)).isoformat())["edges"])
        == 6
    )
    assert (
        movements(merchant_api, shop, until=(now - timedelta(hours=1)).isoformat())["edges"] == []
    )


def test_another_merchants_campaign_is_not_found(
    merchant_api: Api, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = make_shop(unique, new_phone)
    for foreign in (
        to_global_id("Campaign", f"{shop.merchant.pk + 1}:{shop.caps}"),
        to_global_id("CodeBatch", f"{shop.merchant.pk}:{shop.caps}"),
        "not-an-id",
    ):
        result = merchant_api.op(
            "LedgerMovements",
            {"campaign": foreign},
            token=access_token(shop.owner),
            merchant=shop.merchant.slug,
        )
        error = result["errors"][0]
        assert error["extensions"]["code"] == "NOT_FOUND", result
        assert error["extensions"]["field"] == "campaign"


def test_pages_cost_the_same_queries_whatever_their_size(
    merchant_api: Api, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = make_shop(unique, new_phone)

    def count(first: int) -> int:
        with CaptureQueriesContext(django_connection) as queries:
            page = movements(merchant_api, shop, first=first)
        assert len(page["edges"]) == first
        return len(queries)

    one, six = count(1), count(6)
    assert one == six, "a query per movement (N+1)"
    # Paging goes on from the cursor.
    first = movements(merchant_api, shop, first=4)
    rest = movements(merchant_api, shop, first=4, after=first["pageInfo"]["endCursor"])
    assert first["pageInfo"]["hasNextPage"] and not rest["pageInfo"]["hasNextPage"]
    assert [e["node"]["kind"] for e in rest["edges"]] == ["RESERVE", "FUND_MONEY"]


def test_csv_streams_the_same_lines_with_the_same_filters(
    merchant_api: Api, client: Client, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    shop = make_shop(unique, new_phone)
    result = merchant_api.op(
        "LedgerCsv",
        {"campaign": campaign_id(shop, shop.tins)},
        token=access_token(shop.owner),
        merchant=shop.merchant.slug,
    )
    assert "errors" not in result, result
    response = client.get(result["data"]["ledgerCsv"]["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = streamed_body(response).decode()
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == [
        "id",
        "created_at",
        "kind",
        "campaign",
        "budget_change",
        "reserve_change",
        "memo",
    ]
    assert [(r[2], r[3], r[4], r[5]) for r in rows[1:]] == [
        ("release", str(shop.tins), "30", "-30"),
        ("reserve", str(shop.tins), "-30", "30"),
    ]
    ids = [int(r[0]) for r in rows[1:]]
    assert set(Transaction.objects.filter(pk__in=ids).values_list("merchant_id", flat=True)) == {
        shop.merchant.pk
    }


def test_csv_links_expire_and_cannot_be_altered(client: Client) -> None:
    expired = signed_ago(LEDGER_CSV, 16 * 60, 1, "", "", "", 0)
    assert client.get(f"/reports/ledger/{expired}/").status_code == 410
    assert client.get(f"/reports/ledger/{expired}x/").status_code == 403
