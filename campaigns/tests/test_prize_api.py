"""Prize tables through both APIs and the public verifier page, over HTTP.

The merchant defines the table and creates a batch (no points per code), activates; the
consumer previews the code (the published odds) and claims it with the page's nonce; the
merchant reads the stats; the verifier page and its document are public.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.utils import translation
from django_tenants.utils import tenant_context
from graphql_relay import from_global_id, to_global_id

from accounts.models import User
from campaigns.models import Code, CodeBatch, PrizeTable
from campaigns.scan.generation import generate_batch
from campaigns.tests.test_merchant_campaigns import call
from core.db import connection
from frontend.consumer import views as consumer_views
from points import ledger
from tests.fixtures.api import Api, access_token
from tests.fixtures.prizes import coupon_pool, nonce
from tests.fixtures.tenants import Tenants, fund
from tests.test_consumer_pages import embedded

pytestmark = pytest.mark.django_db

TIERS = [
    {"name": "一等奖", "points": 100, "weight": 1, "cap": 1},
    {"name": "二等奖", "points": 10, "weight": 10, "cap": 5},
    {"name": "谢谢参与", "points": 0, "weight": 20},
]
CREATE_PRIZE_BATCH = """
mutation ($campaignId: ID!) {
  createCodeBatch(campaignId: $campaignId, size: 12) {
    batch { id pointsPerCode reservedPoints }
    errors { field code message }
  }
}
"""


@pytest.fixture
def acme(tenants: Tenants, unique: Callable[[str], str]) -> Iterator[Tenants]:
    fund(tenants.acme, 100_000, unique)
    yield tenants
    connection.set_schema_to_public()


def test_a_merchant_defines_a_prize_table_and_a_consumer_draws(
    acme: Tenants, merchant_api: Api, consumer_api: Api, consumer: User, client: Client
) -> None:
    operator = acme.acme_operator
    campaign = call(merchant_api, operator, "CreateScanCampaign", name="再来一瓶")["campaign"]
    bad = call(
        merchant_api,
        operator,
        "SetPrizeTable",
        campaignId=campaign["id"],
        tiers=json.dumps([{"name": "汽车", "points": 6_000_000, "weight": 1, "cap": 1}, TIERS[2]]),
    )
    assert bad["errors"][0]["code"] == "PRIZE_ABOVE_LEGAL_CEILING"
    assert "¥50,000" in bad["errors"][0]["message"]
    table = call(
        merchant_api, operator, "SetPrizeTable", campaignId=campaign["id"], tiers=json.dumps(TIERS)
    )
    assert table["errors"] == [] and table["prizeTable"]["lockedAt"] is None
    budget = ledger.balance_of(ledger.merchant_budget(acme.acme.pk))
    created = merchant_api.query(
        CREATE_PRIZE_BATCH,
        {"campaignId": campaign["id"]},
        token=access_token(operator),
        merchant="acme",
    )["data"]["createCodeBatch"]
    assert created["errors"] == []
    # min(1, 12) x 100 + min(5, 12) x 10 + 12 x 0
    assert created["batch"]["reservedPoints"] == 150 and created["batch"]["pointsPerCode"] == 100
    assert ledger.balance_of(ledger.merchant_budget(acme.acme.pk)) == budget - 150
    call(merchant_api, operator, "ActivateCampaign", id=campaign["id"])
    locked = call(
        merchant_api, operator, "SetPrizeTable", campaignId=campaign["id"], tiers=json.dumps(TIERS)
    )
    assert locked["errors"][0]["code"] == "PRIZE_TERMS_LOCKED"

    with tenant_context(acme.acme):
        batch = CodeBatch.objects.get(campaign__name="再来一瓶", prize_reserve=150)
        generate_batch(batch.pk)
        code = Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True)[0]

    preview = consumer_api.op("ScanPreview", {"code": code})["data"]["scanPreview"]
    assert [t["name"] for t in preview["prizeTiers"]] == ["一等奖", "二等奖", "谢谢参与"]
    assert abs(sum(t["chance"] for t in preview["prizeTiers"]) - 1) < 1e-9
    assert preview["prizeGuarantee"] is None
    token = access_token(consumer)
    missing = consumer_api.op(
        "ClaimCode", {"code": code, "idempotencyKey": "api-prize-1"}, token=token
    )["data"]["claimCode"]
    assert missing["errors"][0]["code"] == "INVALID_DRAW_NONCE"
    claimed = consumer_api.op(
        "ClaimPrizeCode",
        {"code": code, "idempotencyKey": "api-prize-1", "nonce": nonce()},
        token=token,
    )["data"]["claimCode"]
    assert claimed["errors"] == [], claimed
    prize = claimed["prize"]
    assert prize["seq"] == 1 and prize["points"] == claimed["claim"]["points"]
    assert claimed["balance"] == prize["points"]
    assert prize["verifyUrl"].endswith(f"/prizes/{acme.acme.pk}/{batch.campaign_id}")

    stats = call(merchant_api, operator, "PrizeTable", campaignId=campaign["id"])
    assert stats["draws"] == 1 and stats["head"] == prize["entryHash"]
    assert sum(t["drawn"] for t in stats["tiers"]) == sum(t["won"] for t in stats["tiers"]) == 1
    assert [t["remaining"] for t in stats["tiers"]][2] is None
    (seed,) = stats["seeds"]
    assert seed["seed"] is None and len(seed["commitment"]) == 64

    page = client.get(f"/prizes/{acme.acme.pk}/{batch.campaign_id}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    html = page.content.decode()
    assert seed["commitment"] in html and prize["entryHash"] in html and "一等奖" in html
    document = client.get(f"/prizes/{acme.acme.pk}/{batch.campaign_id}/log.json").json()
    assert document["log"][0][7] == prize["entryHash"] and document["seeds"][0]["seed"] is None

    call(merchant_api, acme.acme_owner, "EndCampaign", id=campaign["id"])
    revealed = call(merchant_api, operator, "PrizeTable", campaignId=campaign["id"])["seeds"][0]
    assert revealed["seed"] and revealed["revealedAt"]
    page = client.get(f"/prizes/{acme.acme.pk}/{batch.campaign_id}")
    assert revealed["seed"] in page.content.decode()


def test_a_badly_shaped_table_is_refused_with_its_field(acme: Tenants, merchant_api: Api) -> None:
    operator = acme.acme_operator
    campaign = call(merchant_api, operator, "CreateScanCampaign", name="Shapes")["campaign"]
    for tiers, field in [
        ({}, "tiers"),
        ([{"name": "A", "points": "5", "weight": 1}, TIERS[2]], "tiers.0.points"),
        ([{"name": "A", "points": 5, "weight": 1, "odds": 3}, TIERS[2]], "tiers.0"),
        ([{"name": "A" * 41, "points": 5, "weight": 1}, TIERS[2]], "tiers.0.name"),
    ]:
        payload = call(
            merchant_api,
            operator,
            "SetPrizeTable",
            campaignId=campaign["id"],
            tiers=json.dumps(tiers),
        )
        assert [e["field"] for e in payload["errors"]] == [field], payload


def test_a_draft_table_is_not_published_and_others_cannot_see_it(
    acme: Tenants, merchant_api: Api, client: Client
) -> None:
    operator = acme.acme_operator
    campaign = call(merchant_api, operator, "CreateScanCampaign", name="Draft")["campaign"]
    call(
        merchant_api, operator, "SetPrizeTable", campaignId=campaign["id"], tiers=json.dumps(TIERS)
    )
    with tenant_context(acme.acme):
        pk = PrizeTable.objects.get(campaign__name="Draft").campaign_id
    assert client.get(f"/prizes/{acme.acme.pk}/{pk}").status_code == 404
    beta = merchant_api.op(
        "PrizeTable",
        {"campaignId": campaign["id"]},
        token=access_token(acme.beta_owner),
        merchant="beta",
    )
    assert beta["data"]["prizeTable"] is None
    assert beta["errors"][0]["extensions"]["code"] == "NOT_FOUND", beta


def test_prize_table_needs_sign_in_and_refuses_a_foreign_merchant(
    acme: Tenants, merchant_api: Api
) -> None:
    """prizeTable's isolation cases (tests/test_isolation.py lists it as tested here)."""
    operator = acme.acme_operator
    campaign = call(merchant_api, operator, "CreateScanCampaign", name="Iso")["campaign"]
    call(
        merchant_api, operator, "SetPrizeTable", campaignId=campaign["id"], tiers=json.dumps(TIERS)
    )
    own = call(merchant_api, acme.acme_owner, "PrizeTable", campaignId=campaign["id"])
    assert [t["name"] for t in own["tiers"]] == ["一等奖", "二等奖", "谢谢参与"]
    foreign = merchant_api.op(
        "PrizeTable",
        {"campaignId": campaign["id"]},
        token=access_token(acme.acme_owner),
        merchant="beta",
    )
    assert [e["extensions"]["code"] for e in foreign["errors"]] == ["MERCHANT_NOT_FOUND"]
    anonymous = merchant_api.op("PrizeTable", {"campaignId": campaign["id"]}, merchant="acme")
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]


def test_a_first_scan_guarantee_through_the_apis_and_the_verifier_page(
    acme: Tenants, merchant_api: Api, consumer_api: Api, consumer: User, client: Client
) -> None:
    operator = acme.acme_operator
    campaign = call(merchant_api, operator, "CreateScanCampaign", name="首扫必中")["campaign"]
    capped = [TIERS[0], {"name": "小奖", "points": 5, "weight": 1, "cap": 3}]
    capped.append({"name": "谢谢参与", "points": 0, "weight": 1_000_000})
    refused = call(
        merchant_api,
        operator,
        "SetPrizeTable",
        campaignId=campaign["id"],
        tiers=json.dumps(capped),
        firstScanGuarantee=True,
    )
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("INVALID_PRIZE_TABLE", "tiers.1.cap")
    ]
    del capped[1]["cap"]
    table = call(
        merchant_api,
        operator,
        "SetPrizeTable",
        campaignId=campaign["id"],
        tiers=json.dumps(capped),
        firstScanGuarantee=True,
    )
    assert table["errors"] == [] and table["prizeTable"]["firstScanGuarantee"] is True
    created = merchant_api.query(
        CREATE_PRIZE_BATCH,
        {"campaignId": campaign["id"]},
        token=access_token(operator),
        merchant="acme",
    )["data"]["createCodeBatch"]
    # The guarantee reserves nothing more: 1 x 100 + 12 x 5.
    assert created["batch"]["reservedPoints"] == 160
    call(merchant_api, operator, "ActivateCampaign", id=campaign["id"])
    with tenant_context(acme.acme):
        batch = CodeBatch.objects.get(campaign__name="首扫必中")
        generate_batch(batch.pk)
        code = Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True)[0]
    preview = consumer_api.op("ScanPreview", {"code": code})["data"]["scanPreview"]
    assert preview["prizeGuarantee"] == "小奖"  # published with the odds
    claimed = consumer_api.op(
        "ClaimPrizeCode",
        {"code": code, "idempotencyKey": "api-first-1", "nonce": nonce()},
        token=access_token(consumer),
    )["data"]["claimCode"]
    assert claimed["errors"] == [], claimed
    assert claimed["prize"]["guaranteed"] is True and claimed["prize"]["tierName"] == "小奖"
    assert claimed["balance"] == 5
    stats = call(merchant_api, operator, "PrizeTable", campaignId=campaign["id"])
    assert stats["firstScanGuarantee"] is True
    assert [t["won"] for t in stats["tiers"]] == [0, 1, 0]
    page = client.get(f"/prizes/{acme.acme.pk}/{batch.campaign_id}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "首次扫码至少获得“小奖”" in page.content.decode()
    document = client.get(f"/prizes/{acme.acme.pk}/{batch.campaign_id}/log.json").json()
    assert document["guarantee"] == {"rule": "first-scan", "tier": 2}
    assert document["log"][0][9] == "first-scan" and len(document["log"][0][8]) == 32


def test_a_coupon_prize_through_the_apis_lands_in_the_consumers_orders(
    acme: Tenants, merchant_api: Api, consumer_api: Api, consumer: User
) -> None:
    operator = acme.acme_operator
    pool = coupon_pool(acme.acme, coupons=3, price=200)
    campaign = call(merchant_api, operator, "CreateScanCampaign", name="券")["campaign"]
    tiers = [
        {"name": "代金券", "coupon": to_global_id("SuppliedProduct", pool.pk), "weight": 10**6},
        {"name": "谢谢参与", "points": 0, "weight": 1},
    ]
    foreign = [{**tiers[0], "coupon": to_global_id("Product", pool.pk)}, tiers[1]]
    refused = call(
        merchant_api,
        operator,
        "SetPrizeTable",
        campaignId=campaign["id"],
        tiers=json.dumps(foreign),
    )
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", "tiers.0.coupon")]
    table = call(
        merchant_api, operator, "SetPrizeTable", campaignId=campaign["id"], tiers=json.dumps(tiers)
    )
    assert table["errors"] == [] and table["prizeTable"]["tiers"][0]["points"] == 200
    created = merchant_api.query(
        CREATE_PRIZE_BATCH.replace("size: 12", "size: 2"),
        {"campaignId": campaign["id"]},
        token=access_token(operator),
        merchant="acme",
    )["data"]["createCodeBatch"]
    assert created["errors"] == [] and created["batch"]["reservedPoints"] == 400
    call(merchant_api, operator, "ActivateCampaign", id=campaign["id"])
    with tenant_context(acme.acme):
        batch = CodeBatch.objects.get(campaign__name="券")
        generate_batch(batch.pk)
        code = Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True)[0]
    token = access_token(consumer)
    claimed = consumer_api.op(
        "ClaimPrizeCode",
        {"code": code, "idempotencyKey": "api-cpn-1", "nonce": nonce()},
        token=token,
    )["data"]["claimCode"]
    assert claimed["errors"] == [] and claimed["prize"]["tierName"] == "代金券", claimed
    assert claimed["balance"] == 0
    orders = consumer_api.op("Orders", {}, token=token)["data"]["orders"]["edges"]
    assert [(o["node"]["product"]["title"], o["node"]["totalPoints"]) for o in orders] == [
        (pool.title, 200)
    ]
    assert len(orders[0]["node"]["couponCodes"]) == 1
    stats = call(merchant_api, operator, "PrizeTable", campaignId=campaign["id"])["tiers"][0]
    assert (stats["couponId"], stats["couponsSetAside"], stats["won"]) == (
        to_global_id("SuppliedProduct", pool.pk),
        2,
        1,
    )
    call(merchant_api, acme.acme_owner, "EndCampaign", id=campaign["id"])
    stats = call(merchant_api, operator, "PrizeTable", campaignId=campaign["id"])["tiers"][0]
    assert stats["couponsReturned"] == 1
    pool.refresh_from_db()
    assert pool.stock == 2


def test_a_prize_questionnaire_through_the_apis(
    acme: Tenants, merchant_api: Api, consumer_api: Api, consumer: User
) -> None:
    """The form shows the odds, a submit without the page's nonce is refused, one with it
    draws (decision 0283); the merchant's table counts the draw."""
    operator = acme.acme_operator
    created = call(
        merchant_api,
        operator,
        "CreateQuestionnaire",
        name="有奖问卷",
        pointsPerResponse=1,
        maxRewardedResponses=12,
        questions=json.dumps([{"id": "q", "type": "rating", "text": "?", "required": True}]),
    )["questionnaire"]
    campaign_id = created["campaign"]["id"]
    table = call(
        merchant_api, operator, "SetPrizeTable", campaignId=campaign_id, tiers=json.dumps(TIERS)
    )
    assert table["errors"] == []
    budget = ledger.balance_of(ledger.merchant_budget(acme.acme.pk))
    call(merchant_api, operator, "ActivateCampaign", id=campaign_id)
    # min(1, 12) x 100 + min(5, 12) x 10, not 12 x pointsPerResponse.
    assert ledger.balance_of(ledger.merchant_budget(acme.acme.pk)) == budget - 150

    link = created["link"]
    form = consumer_api.op("Questionnaire", {"link": link})["data"]["questionnaire"]
    assert [t["name"] for t in form["prizeTiers"]] == ["一等奖", "二等奖", "谢谢参与"]
    token = access_token(consumer)
    answer = {
        "link": link,
        "answers": json.dumps({"q": 5}),
        "idempotencyKey": "api-q-prize-1",
        "shareWithMerchant": True,
    }
    missing = consumer_api.op("SubmitResponse", answer, token=token)["data"]["submitResponse"]
    assert missing["errors"][0]["code"] == "INVALID_DRAW_NONCE"
    submitted = consumer_api.op("SubmitResponse", {**answer, "nonce": nonce()}, token=token)[
        "data"
    ]["submitResponse"]
    assert submitted["errors"] == [], submitted
    prize = submitted["prize"]
    assert prize["seq"] == 1 and prize["points"] == submitted["response"]["points"]
    assert submitted["balance"] == prize["points"]
    assert f"/prizes/{acme.acme.pk}/" in prize["verifyUrl"]
    stats = call(merchant_api, operator, "PrizeTable", campaignId=campaign_id)
    assert stats["draws"] == 1 and stats["head"] == prize["entryHash"]


def test_a_prize_questionnaires_page_words_the_guarantee_as_a_first_answer(
    acme: Tenants, merchant_api: Api, consumer_api: Api, client: Client
) -> None:
    """The guarantee is a consumer's first draw in the campaign: on a questionnaire's page
    that is their first answer, not a scan (扫码), before and after the draw; the scan
    page keeps its own words."""
    operator = acme.acme_operator
    created = call(
        merchant_api,
        operator,
        "CreateQuestionnaire",
        name="首答必中",
        pointsPerResponse=1,
        maxRewardedResponses=12,
        questions=json.dumps([{"id": "q", "type": "rating", "text": "?", "required": True}]),
    )["questionnaire"]
    tiers = [TIERS[0], {"name": "小奖", "points": 5, "weight": 1}, TIERS[-1]]
    table = call(
        merchant_api,
        operator,
        "SetPrizeTable",
        campaignId=created["campaign"]["id"],
        tiers=json.dumps(tiers),
        firstScanGuarantee=True,
    )
    assert table["errors"] == []
    call(merchant_api, operator, "ActivateCampaign", id=created["campaign"]["id"])
    form = consumer_api.op("Questionnaire", {"link": created["link"]})["data"]["questionnaire"]
    assert form["prizeGuarantee"] == "小奖"

    html = client.get(f"/q/{created['link']}", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    texts = embedded(html, "page-texts")
    assert texts["prize_guarantee"] % {"tier": "小奖"} == "首次提交本问卷至少获得“小奖”。"
    assert "问卷" in texts["prize_guaranteed"]
    assert not any("扫码" in texts[key] for key in ("prize_guarantee", "prize_guaranteed"))
    with translation.override("zh-hans"):
        assert "扫码" in consumer_views.scan_texts()["prize_guarantee"]
    # The public verifier words it the same way (a scan campaign's: "首次扫码", above).
    campaign_pk = int(from_global_id(created["campaign"]["id"])[1].split(":")[1])
    verifier = client.get(f"/prizes/{acme.acme.pk}/{campaign_pk}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    guarantee = verifier.content.decode().split('id="prize-guarantee">')[1].split("</p>")[0]
    assert "首次提交本问卷至少获得“小奖”" in guarantee and "扫码" not in guarantee


def test_a_draft_campaigns_prize_table_is_cleared_back_to_fixed_points(
    acme: Tenants, merchant_api: Api
) -> None:
    """clearPrizeTable: a draft's saved table goes and its batches then pay fixed points;
    refused PRIZE_TERMS_LOCKED once a batch reserved by the terms or the campaign was
    activated (the table stays); operators only."""
    operator = acme.acme_operator
    campaign = call(merchant_api, operator, "CreateScanCampaign", name="先抽奖后固定")["campaign"]
    tiers = json.dumps(TIERS)
    assert (
        call(merchant_api, operator, "SetPrizeTable", campaignId=campaign["id"], tiers=tiers)[
            "errors"
        ]
        == []
    )
    viewer = call(merchant_api, acme.acme_viewer, "ClearPrizeTable", campaignId=campaign["id"])
    assert [e["code"] for e in viewer["errors"]] == ["PERMISSION_DENIED"]

    cleared = call(merchant_api, operator, "ClearPrizeTable", campaignId=campaign["id"])
    assert cleared["errors"] == [] and cleared["campaign"]["status"] == "DRAFT"
    assert call(merchant_api, operator, "PrizeTable", campaignId=campaign["id"]) is None
    again = call(merchant_api, operator, "ClearPrizeTable", campaignId=campaign["id"])
    assert again["errors"] == []  # nothing to clear: answered unchanged
    batch = call(
        merchant_api,
        operator,
        "CreateCodeBatch",
        campaignId=campaign["id"],
        size=3,
        pointsPerCode=7,
    )
    assert batch["errors"] == [] and batch["batch"]["pointsPerCode"] == 7
    with tenant_context(acme.acme):
        assert not PrizeTable.objects.filter(campaign__name="先抽奖后固定").exists()
        assert CodeBatch.objects.get(campaign__name="先抽奖后固定").prize_reserve is None

    # A batch reserved by the terms: they are locked, the table stays.
    with_batch = call(merchant_api, operator, "CreateScanCampaign", name="有批次")["campaign"]
    call(merchant_api, operator, "SetPrizeTable", campaignId=with_batch["id"], tiers=tiers)
    made = merchant_api.query(
        CREATE_PRIZE_BATCH,
        {"campaignId": with_batch["id"]},
        token=access_token(operator),
        merchant="acme",
    )["data"]["createCodeBatch"]
    assert made["errors"] == []
    refused = call(merchant_api, operator, "ClearPrizeTable", campaignId=with_batch["id"])
    assert [e["code"] for e in refused["errors"]] == ["PRIZE_TERMS_LOCKED"]
    assert call(merchant_api, operator, "PrizeTable", campaignId=with_batch["id"]) is not None

    # Activated: the terms were published.
    active = call(merchant_api, operator, "CreateScanCampaign", name="已启用")["campaign"]
    call(merchant_api, operator, "SetPrizeTable", campaignId=active["id"], tiers=tiers)
    call(merchant_api, operator, "ActivateCampaign", id=active["id"])
    refused = call(merchant_api, operator, "ClearPrizeTable", campaignId=active["id"])
    assert [e["code"] for e in refused["errors"]] == ["PRIZE_TERMS_LOCKED"]
    table = call(merchant_api, operator, "PrizeTable", campaignId=active["id"])
    assert table is not None and table["lockedAt"] is not None
