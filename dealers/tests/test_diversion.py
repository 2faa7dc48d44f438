"""Dealers, sales regions and diversion: the rules, the refusal, the flag, the webhook.

Real PostgreSQL and Redis: claims go through the consumer API, scan events through the
Redis stream and the drainer (``events.drain_all``), as in production.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from graphql_relay import to_global_id

from accounts.models import User
from campaigns.models import Code, CodeBatch
from campaigns.scan import events
from core import regions
from dealers import diversion, services
from dealers.models import DiversionAction, DiversionEvent, covers
from tenants.models import Merchant
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import merchant_with_codes, staff_user
from webhooks import events as webhook_events
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

BEIJING_IP = "202.106.0.20"  # ip2region: 北京市
SHENZHEN_IP = "202.96.134.133"  # 广东省深圳市
WECHAT = "Mozilla/5.0 (Linux; Android 10) Mobile Safari/537.36 MicroMessenger/8.0.40"
# Known places (WGS-84) and the division each must fall in.
PLACES = {
    "shenzhen_nanshan": ((22.53, 113.93), "440305"),
    "guangzhou_tianhe": ((23.13, 113.36), "440106"),
    "beijing_dongcheng": ((39.93, 116.42), "110101"),
    "shanghai_huangpu": ((31.23, 121.49), "310101"),
    "hangzhou_xihu": ((30.26, 120.13), "330106"),
}
GUANGDONG, SHENZHEN, BEIJING = "440000", "440300", "110000"


@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_precise_location_is_stored_in_the_district_it_falls_in(place: str) -> None:
    (latitude, longitude), district = PLACES[place]
    assert regions.nearest(latitude, longitude).code == district
    # What the drainer stores: the district, rounded WGS-84, not approximate.
    payload = f'[1,"X","claim","claimed",null,0,"wechat","{SHENZHEN_IP}",{latitude},{longitude}]'
    event = events._event("1700000000000-0", payload, True)
    assert (event.region, event.approximate) == (district, False)
    assert event.latitude == Decimal(str(round(latitude, 2)))


@pytest.mark.parametrize(("ip", "city"), [(BEIJING_IP, "110100"), (SHENZHEN_IP, "440300")])
def test_without_a_location_the_region_comes_from_the_ip_and_is_approximate(
    ip: str, city: str
) -> None:
    event = events._event(
        "1700000000000-0", f'[1,"X","page","ok",null,0,"wechat","{ip}",null,null]', True
    )
    assert (event.region, event.approximate) == (city, True)


def test_a_region_inside_a_sales_region_is_inside_and_a_coarser_one_around_it_too() -> None:
    assert covers([GUANGDONG], "440305")  # a district of the province
    assert covers([SHENZHEN], "440305")  # a district of the city
    assert not covers([SHENZHEN], "440106")  # Guangzhou is another city
    assert not covers([GUANGDONG], "110101")
    # An IP address's city around the dealer's district cannot be told outside.
    assert covers(["440305"], SHENZHEN)
    assert not covers(["440305"], "110100")


def test_a_location_near_the_regions_edge_is_not_refused() -> None:
    # 深圳南山 lies within 10 km of 宝安's centroid: a dealer of 宝安 is not refused there
    # (the nearest centroid alone could name either), a dealer of Beijing is.
    assert not diversion.outside(["440306"], 22.53, 113.93)
    assert diversion.outside([BEIJING], 22.53, 113.93)


# --- Dealers and assignments ------------------------------------------------------


@pytest.fixture
def shop(committed_db: None, unique: Callable[[str], str]) -> Any:
    owner = staff_user(f"{unique('owner')}@dealers.test")
    merchant, codes = merchant_with_codes(unique, size=6, points=5, owner=owner)
    api = Api(Client(), "/merchant/graphql/", "merchant")

    def call(operation: str, /, **variables: Any) -> dict[str, Any]:
        answer = api.op(operation, variables, token=access_token(owner), merchant=merchant.slug)
        assert "errors" not in answer, answer
        return answer["data"]

    with tenant_context(merchant):
        batch = CodeBatch.objects.get()
    return merchant, codes, batch, call


def _batch_id(merchant: Merchant, batch: CodeBatch) -> str:
    return to_global_id("CodeBatch", f"{merchant.pk}:{batch.pk}")


def test_dealers_are_made_checked_and_assigned_through_the_merchant_api(shop: Any) -> None:
    merchant, _codes, batch, call = shop
    bad = call("CreateDealer", name="华南总代", regions=["440000", "999999"])["createDealer"]
    assert [e["code"] for e in bad["errors"]] == ["INVALID_SALES_REGION"]
    nested = call("CreateDealer", name="华南总代", regions=["440000", "440300"])["createDealer"]
    assert [e["code"] for e in nested["errors"]] == ["SALES_REGIONS_REQUIRED"]
    made = call("CreateDealer", name="华南总代", regions=["440300", "440100"])["createDealer"]
    assert made["errors"] == []
    dealer = made["dealer"]
    assert [r["fullName"] for r in dealer["regions"]] == ["广东省广州市", "广东省深圳市"]
    again = call("CreateDealer", name="华南总代", regions=["110000"])["createDealer"]
    assert [e["code"] for e in again["errors"]] == ["DEALER_NAME_TAKEN"]

    batch_id = _batch_id(merchant, batch)
    outside = call(
        "AssignToDealer", dealerId=dealer["id"], batchId=batch_id, firstSerial=2, lastSerial=6
    )
    assert [e["code"] for e in outside["assignToDealer"]["errors"]] == ["INVALID_SERIAL_RANGE"]
    first = call(
        "AssignToDealer", dealerId=dealer["id"], batchId=batch_id, firstSerial=0, lastSerial=2
    )
    assert first["assignToDealer"]["assignment"]["lastSerial"] == 2
    overlap = call("AssignToDealer", dealerId=dealer["id"], batchId=batch_id)  # the whole batch
    assert [e["code"] for e in overlap["assignToDealer"]["errors"]] == ["ASSIGNMENT_OVERLAPS"]
    rest = call(
        "AssignToDealer", dealerId=dealer["id"], batchId=batch_id, firstSerial=3, lastSerial=5
    )
    assert rest["assignToDealer"]["errors"] == []
    listed = call("DealerAssignments", dealerId=dealer["id"])["dealerAssignments"]["edges"]
    assert sorted((e["node"]["firstSerial"], e["node"]["lastSerial"]) for e in listed) == [
        (0, 2),
        (3, 5),
    ]
    in_use = call("DeleteDealer", id=dealer["id"])["deleteDealer"]
    assert [e["code"] for e in in_use["errors"]] == ["DEALER_IN_USE"]


# --- Refusal and flagging ---------------------------------------------------------


def _claim(
    code: str, consumer: User, key: str, ip: str, where: tuple[float, float] | None = None
) -> dict[str, Any]:
    api = Api(Client(), "/graphql/", "consumer")
    variables: dict[str, Any] = {"code": code, "idempotencyKey": key, "shareWithMerchant": True}
    if where is not None:
        variables["latitude"], variables["longitude"] = where
    answer = api.op(
        "ClaimCode", variables, token=access_token(consumer), HTTP_USER_AGENT=WECHAT, REMOTE_ADDR=ip
    )
    return answer["data"]["claimCode"]


def _guangdong_goods(merchant: Merchant, batch: CodeBatch, action: DiversionAction) -> None:
    with tenant_context(merchant):
        dealer = services.create_dealer("广东经销商", [GUANGDONG])
        services.assign(dealer, batch)
        services.set_diversion_action(batch.campaign, action)
    WebhookEndpoint.objects.create(
        merchant=merchant,
        url="https://hooks.example/diversion",
        secret="s" * 40,
        event_types=[EventType.DIVERSION_SUSPECTED],
    )
    webhook_events.forget(merchant.pk)  # the process's cache of subscriptions


def _diversions(merchant: Merchant) -> list[DiversionEvent]:
    with tenant_context(merchant):
        return list(DiversionEvent.objects.order_by("id"))


def _webhooks(merchant: Merchant) -> list[dict[str, Any]]:
    found = WebhookDelivery.objects.filter(
        endpoint__merchant=merchant, event_type=EventType.DIVERSION_SUSPECTED
    )
    return [d.payload["data"] for d in found.order_by("id")]


def test_a_refusal_leaves_the_code_claimable_inside_its_region(
    shop: Any, new_phone: Callable[[], str]
) -> None:
    merchant, codes, batch, _call = shop
    _guangdong_goods(merchant, batch, DiversionAction.REFUSE)
    consumer = User.objects.get_or_create_consumer(new_phone())[0]
    beijing = PLACES["beijing_dongcheng"][0]

    refused = _claim(codes[0], consumer, "k-beijing", SHENZHEN_IP, beijing)
    assert [e["code"] for e in refused["errors"]] == ["DIVERSION_REFUSED"]
    assert refused["claim"] is None
    with tenant_context(merchant):
        assert Code.objects.get(code=codes[0]).claimed_at is None

    claimed = _claim(codes[0], consumer, "k-shenzhen", BEIJING_IP, PLACES["shenzhen_nanshan"][0])
    assert claimed["errors"] == [] and claimed["claim"]["points"] == 5

    events.drain_all()
    [event] = _diversions(merchant)
    assert (event.code, event.region, event.approximate, event.refused) == (
        codes[0],
        "110101",
        False,
        True,
    )
    [sent] = _webhooks(merchant)
    assert sent["code"] == codes[0] and sent["refused"] is True and sent["approximate"] is False
    assert sent["regionName"] == "北京市东城区" and sent["dealer"]["name"] == "广东经销商"


def test_an_ip_only_diversion_flags_but_never_refuses_and_is_sent_once(
    shop: Any, new_phone: Callable[[], str]
) -> None:
    merchant, codes, batch, _call = shop
    _guangdong_goods(merchant, batch, DiversionAction.REFUSE)
    consumer = User.objects.get_or_create_consumer(new_phone())[0]

    claimed = _claim(codes[1], consumer, "k-ip", BEIJING_IP)  # no consented location
    assert claimed["errors"] == [] and claimed["claim"]["points"] == 5
    again = _claim(codes[1], consumer, "k-ip-2", BEIJING_IP)
    assert [e["code"] for e in again["errors"]] == ["ALREADY_CLAIMED"]

    events.drain_all()
    [event] = _diversions(merchant)
    assert (event.region, event.approximate, event.refused, event.scans) == (
        "110100",
        True,
        False,
        2,
    )
    assert len(_webhooks(merchant)) == 1  # once per code and region, not per scan
    # Scanned in its own region: nothing.
    _claim(codes[2], consumer, "k-home", SHENZHEN_IP)
    events.drain_all()
    assert len(_diversions(merchant)) == 1


def test_a_flagging_campaign_collects_a_precise_diversion_and_counts_it(
    shop: Any, new_phone: Callable[[], str]
) -> None:
    merchant, codes, batch, call = shop
    _guangdong_goods(merchant, batch, DiversionAction.FLAG)
    consumers = [User.objects.get_or_create_consumer(new_phone())[0] for _ in range(2)]
    beijing = PLACES["beijing_dongcheng"][0]
    assert _claim(codes[3], consumers[0], "k-1", SHENZHEN_IP, beijing)["errors"] == []
    assert _claim(codes[4], consumers[1], "k-2", SHENZHEN_IP)["errors"] == []
    events.drain_all()

    [event] = _diversions(merchant)
    assert (event.code, event.approximate, event.refused) == (codes[3], False, False)
    by_province = {r["key"]: r for r in call("ScanStats", by="PROVINCE", days=7)["scanStats"]}
    assert by_province[BEIJING]["divertedScans"] == 1 and by_province[BEIJING]["claims"] == 1
    assert by_province[GUANGDONG]["divertedScans"] == 0
    [dealer] = call("ScanStats", by="DEALER", days=7)["scanStats"]
    assert (dealer["scans"], dealer["claims"], dealer["consumers"]) == (2, 2, 2)
    assert dealer["diversionShare"] == 0.5
    [total] = call("DiversionTotals", by="PROVINCE", days=7)["diversionTotals"]
    assert (total["name"], total["diversions"], total["precise"]) == ("北京市", 1, 1)
    csv = call("ScanStatsCsv", by="DEALER", days=7)["scanStatsCsv"]
    assert csv.splitlines()[1].endswith(",2,2,2,1,0.5000")
    listed = call("DiversionEvents", region=BEIJING)["diversionEvents"]["edges"]
    assert [e["node"]["code"] for e in listed] == [codes[3]]
    assert call("DiversionEvents", region=GUANGDONG)["diversionEvents"]["edges"] == []
    by_city = {r["key"]: r for r in call("ScanStats", by="CITY", days=7)["scanStats"]}
    assert set(by_city) == {"110100", "440300"}  # Beijing's city row; Shenzhen by IP
    assert by_city["110100"]["name"] == "北京市"


def test_a_bad_location_is_a_coded_refusal(shop: Any, new_phone: Callable[[], str]) -> None:
    _merchant, codes, _batch, _call = shop
    consumer = User.objects.get_or_create_consumer(new_phone())[0]
    answer = _claim(codes[5], consumer, "k-bad", SHENZHEN_IP, (91.0, 10.0))
    assert [e["code"] for e in answer["errors"]] == ["INVALID_LOCATION"]
    with tenant_context(_merchant):
        assert Code.objects.get(code=codes[5]).claimed_at is None


def test_lists_of_assignments_and_diversions_cost_the_same_queries_for_one_row_or_many(
    shop: Any,
) -> None:
    merchant, codes, batch, call = shop
    now = timezone.now()

    def add(serial: int) -> None:
        with tenant_context(merchant):
            dealer = services.create_dealer(f"经销商 {serial}", [GUANGDONG])
            services.assign(dealer, batch, serial, serial)
            DiversionEvent.objects.create(
                code=codes[serial],
                region="110101",
                dealer=dealer,
                batch=batch,
                approximate=True,
                first_scanned_at=now,
                last_scanned_at=now,
            )

    def queries(operation: str) -> int:
        with CaptureQueriesContext(connection) as seen:
            call(operation)
        return len(seen)

    add(0)
    one = {name: queries(name) for name in ("DealerAssignments", "DiversionEvents", "Dealers")}
    for serial in (1, 2, 3):
        add(serial)
    many = {name: queries(name) for name in one}
    assert many == one
    assert len(call("DiversionEvents")["diversionEvents"]["edges"]) == 4


@pytest.mark.django_db
def test_a_campaigns_diversion_action_is_its_merchants(tenants: Any) -> None:
    from campaigns.scan import services as scan_services

    with tenant_context(tenants.beta):
        campaign = scan_services.create_scan_campaign(name="Beta's")
        services.set_diversion_action(campaign, DiversionAction.REFUSE)
    beta_id = to_global_id("Campaign", f"{tenants.beta.pk}:{campaign.pk}")
    api = Api(Client(), "/merchant/graphql/", "merchant")

    def ask(user: User, merchant: str) -> dict[str, Any]:
        return api.op(
            "CampaignDiversionAction",
            {"campaignId": beta_id},
            token=access_token(user),
            merchant=merchant,
        )

    assert ask(tenants.beta_owner, "beta")["data"]["campaignDiversionAction"] == "REFUSE"
    # acme's staff, in acme's schema: no such campaign there; beta's schema: not theirs.
    assert [e["extensions"]["code"] for e in ask(tenants.acme_owner, "acme")["errors"]] == [
        "NOT_FOUND"
    ]
    assert [e["extensions"]["code"] for e in ask(tenants.acme_owner, "beta")["errors"]] == [
        "MERCHANT_NOT_FOUND"
    ]
