"""Tenant isolation: one merchant's staff never see or change another merchant's data,
and one consumer never sees another's wallet.

The cases are driven from the schema: every top-level query field and every merchant
mutation must have an entry below, so a field added later without an isolation case
makes ``test_every_*_has_a_case`` fail until someone writes one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from django_tenants.utils import tenant_context
from graphql_relay import from_global_id, to_global_id

from accounts.models import User
from analytics.downloads import MERCHANT_CSV
from analytics.models import MerchantRollup
from api.schema import consumer_schema, merchant_schema
from campaigns import services as campaign_services
from campaigns.models import (
    BatchExport,
    Campaign,
    Code,
    CodeBatch,
    CodeImport,
    CodeScans,
    PrizeTier,
    QuestionnaireVersion,
    ScanDay,
    ScanEvent,
    ScanFailure,
    SuspicionReason,
)
from campaigns.models.prizes import TierTerms
from campaigns.prizes.services import set_prize_table
from campaigns.questionnaires.services import create_questionnaire_campaign
from campaigns.scan import services as scan_services
from campaigns.scan.codes import encode_merchant, new_code
from campaigns.scan.generation import generate_batch
from core.db import connection
from dealers import services as dealer_services
from dealers.models import (
    Dealer,
    DealerAssignment,
    DiversionAction,
    DiversionEvent,
    DiversionPolicy,
)
from earning import services as earning_services
from earning.models import Award, EarningRule
from points import services
from points.downloads import LEDGER_CSV
from points.models import AccountKind, Entry, TopUpRequest
from redemption.models import Category, Order, Product
from redemption.tests.helpers import placed_order
from tenants import onboarding
from tenants.models import (
    ApiKey,
    AuditEvent,
    Membership,
    Merchant,
    MerchantStatus,
    OfficialAccount,
    Role,
)
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants
from webhooks import events as webhook_events
from webhooks import services as webhook_services
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

# Top-level merchant query fields, each with a query reading it. Every field must be
# listed; `node` and `me` are tested on their own below.
QUERY_CASES: dict[str, str] = {
    "budget": "query { budget { available reserved money { rate currency availableMinor } } }",
    "campaigns": (
        "query { campaigns(first: 20) { edges { node { id name status stats { codesIssued "
        "codesClaimed pointsReserved } batches(first: 10) { edges { node { id size status } } } "
        "} } } }"
    ),
    "scanFailures": "query { scanFailures(days: 90) { day reason count } }",
    "scansPerDay": "query { scansPerDay(days: 90) { day scans lookups crawlers claims } }",
    "suspiciousCodes": (
        "query { suspiciousCodes(first: 50) { edges { node { code suspicion lookups scans "
        "firstRegionName } } } }"
    ),
    "dashboard": (
        "query { dashboard(days: 90) { pointsReserved pointsAwarded pointsReturned "
        "activeConsumers earningsPerDay { day claims responses } "
        "topCampaigns(first: 20) { points earnings campaign { id name } } } }"
    ),
    "questionnaires": (
        "query { questionnaires(first: 20) { edges { node { id name status link "
        "results { questionId answered } completion { opened submitted } "
        "responses(first: 10) { edges { node { maskedPhone version } } } } } } }"
    ),
    "followCampaigns": (
        "query { followCampaigns(first: 20) { edges { node { id name status pointsPerFollow "
        "shareUrl stats { newFollowers credited unfollowedAfter } } } } }"
    ),
    "batchExports": (
        "query { batchExports(first: 100) { edges { node { id format status progress total "
        "downloadUrl batch { id campaign { name } } } } } }"
    ),
    "codeImports": (
        "query { codeImports(first: 20) { edges { node { id name status accepted refused "
        "reportUrl campaign { name } batch { id } } } } }"
    ),
    "ledger": (
        "query { ledger(first: 100) { edges { node { id amount kind memo account reference } } } }"
    ),
    "ledgerMovements": (
        "query { ledgerMovements(first: 100) { edges { node { id kind memo budgetChange "
        "reserveChange campaign postings { account reference amount } } } } }"
    ),
    "ledgerCsv": "query { ledgerCsv { url expiresAt } }",
    "analytics": (
        'query { analytics(from: "2021-01-01", to: "2021-12-31") { consumersReached '
        "repeatConsumers redeemedConsumers redeemedShare newConsumers "
        "days { day dau wau mau new returning scans claims answers redeems } "
        "funnel { scans claims redemptions } cohorts { week size retained } } }"
    ),
    # A signed link naming the merchant (the link itself: analytics/tests/test_downloads.py).
    "analyticsCsv": (
        'query { analyticsCsv(from: "2021-01-01", to: "2021-12-31") { url expiresAt } }'
    ),
    "pointsLiability": (
        "query { pointsLiability { outstanding overdue expiring { days points } "
        "months(last: 36) { month opening issued redeemed expired awardReversals "
        "redeemReversals closing } } }"
    ),
    "merchant": "query { merchant { slug name status pointsExpiryDays contactEmail } }",
    "myRole": "query { myRole }",
    "staff": "query { staff(first: 100) { edges { node { id email name role } } } }",
    # The mall (public schema, scoped by supplier); more in redemption/tests/test_mall_api.py.
    "mallCategories": "query { mallCategories(first: 100) { edges { node { id name } } } }",
    "suppliedProducts": (
        "query { suppliedProducts(first: 100) { edges { node { id title status stock } } } }"
    ),
    "supplierOrders": (
        "query { supplierOrders(first: 100) { edges { node { id status consumerPhone "
        "address { phone } product { title } } } } }"
    ),
    # API keys (admins) and the audit log (owners); more in tenants/tests/test_api_keys.py
    # and tenants/tests/test_audit.py.
    "apiKeys": "query { apiKeys(first: 100) { edges { node { id name prefix scopes } } } }",
    "auditLog": (
        "query { auditLog(first: 100) { edges { node { id actor actorKind mutation input "
        "result } } } }"
    ),
    # The WeChat official account authorised to the platform (a public-schema row).
    "officialAccount": "query { officialAccount { appId name principalName status } }",
    "officialAccountPlatformEnabled": "query { officialAccountPlatformEnabled }",
    "settlement": (
        f"query {{ settlement(year: {timezone.now().year}, month: {timezone.now().month}) "
        "{ totalUnits totalPoints rows { productId productTitle units points } } }"
    ),
    "webhookEndpoints": (
        "query { webhookEndpoints(first: 100) { edges { node { id url description eventTypes "
        "isActive secretHint } } } }"
    ),
    # The earning rule (a public row keyed by merchant); the earning API's own cases are
    # in earning/tests/test_earning_api.py.
    "earningRule": (
        "query { earningRule { pointsPerUnit rounding dailyCap welcomeBonus birthdayBonus "
        "pendingDays } }"
    ),
    "webhookDeliveries": (
        "query { webhookDeliveries(first: 100) { edges { node { id eventId eventType status "
        "attempts payload endpoint { id url description } } } } }"
    ),
    # Dealers and diversion (issue 22): rows of the merchant's schema.
    "dealers": "query { dealers(first: 100) { edges { node { id name regions { code } } } } }",
    "dealerAssignments": (
        "query { dealerAssignments(first: 100) { edges { node { id firstSerial lastSerial "
        "dealer { id name } batch { id } } } } }"
    ),
    "diversionEvents": (
        "query { diversionEvents(first: 100) { edges { node { id code scans approximate "
        "region { code } dealer { name } batch { id } } } } }"
    ),
    "diversionTotals": (
        "query { diversionTotals(by: DEALER, days: 366) { key name diversions scans precise } }"
    ),
    "scanStats": (
        "query { scanStats(by: DEALER, days: 366) { key name scans claims consumers "
        "divertedScans } }"
    ),
    "scanStatsCsv": "query { scanStatsCsv(by: DEALER, days: 366) }",
}
# prizeTable reads one campaign by its ID: its isolation cases (another merchant's staff,
# another merchant named, no sign-in) are in campaigns/tests/test_prize_api.py.
# labelPreview renders one batch named by its global ID: another merchant's batch ID is
# NOT_FOUND, a foreign merchant header MERCHANT_NOT_FOUND, no sign-in UNAUTHENTICATED
# (campaigns/tests/test_exports.py, test_label_preview_shows_a_page_that_scans_...).
# campaignDiversionAction reads one campaign by its ID: another merchant's is NOT_FOUND
# (dealers/tests/test_diversion.py, test_a_campaigns_diversion_action_is_its_merchants).
QUERY_FIELDS_TESTED_SEPARATELY = {
    "node",
    "me",
    "labelPreview",
    "codeScans",
    "prizeTable",
    "campaignDiversionAction",
}

# Mutations anyone may call (they act on the caller's own session or invitation, or
# apply for a new merchant: test_a_sign_up_reaches_no_existing_merchant below).
PUBLIC_MUTATIONS = {"signIn", "refreshToken", "signOut", "acceptInvitation", "merchantSignUp"}
# They talk to WeChat (the fake), which these cases do not start: the same refusals (a
# viewer, no sign-in, another merchant's state) are in tests/test_wechat_component.py.
WECHAT_MUTATIONS = {"officialAccountAuthorizeStart", "officialAccountAuthorizeComplete"}
# Follow campaigns need an account authorised at the fake WeChat to succeed at all: their
# roles and merchants are tested against it in tests/test_follow_campaigns.py.
WECHAT_MUTATIONS |= {"createFollowCampaign", "makeFollowPoster"}


def _member_gid(merchant, user: User) -> str:
    return to_global_id("StaffMember", Membership.objects.get(merchant=merchant, user=user).pk)


def _acme_campaign(t: Tenants, *statuses: str, batch: bool = False) -> str:
    """A new campaign of acme's moved through ``statuses`` (or a batch of it): its global ID."""
    services.fund_with_money(
        t.acme, amount_minor=100, currency="CNY", rate="10", payment_reference=f"iso-{uuid4()}"
    )
    with tenant_context(t.acme):
        campaign = scan_services.create_scan_campaign(name="Isolation campaign")
        for status in statuses:
            campaign_services.set_status(t.acme, campaign, status)
        if batch:
            made = scan_services.create_batch(t.acme, campaign, size=2, points_per_code=1)
            return to_global_id("CodeBatch", f"{t.acme.pk}:{made.pk}")
    return to_global_id("Campaign", f"{t.acme.pk}:{campaign.pk}")


def _acme_prize_campaign(t: Tenants) -> str:
    """A new draft campaign of acme's with a saved prize table: its global ID."""
    with tenant_context(t.acme):
        campaign = scan_services.create_scan_campaign(name="Isolation prizes")
        set_prize_table(campaign, [TierTerms("A", 1, 1, None), TierTerms("B", 0, 1, None)])
    return to_global_id("Campaign", f"{t.acme.pk}:{campaign.pk}")


def _acme_questionnaire(t: Tenants) -> str:
    """A new draft questionnaire of acme's: its global ID."""
    with tenant_context(t.acme):
        campaign = create_questionnaire_campaign(
            name="Isolation survey",
            questions=[{"id": "q1", "type": "rating", "text": "Rate us"}],
            points_per_response=1,
            max_rewarded_responses=1,
        )
        pk = campaign.questionnaire.pk
    return to_global_id("Questionnaire", f"{t.acme.pk}:{pk}")


def _ready_acme_batch(t: Tenants) -> str:
    """A generated (ready) batch of acme's: its global ID."""
    global_id = _acme_campaign(t, "active", batch=True)
    with tenant_context(t.acme):
        generate_batch(int(from_global_id(global_id).id.split(":")[1]))
    return global_id


# Webhooks can be sent to a closed local port: an attempt fails at once.
CLOSED_HOOK = "http://127.0.0.1:9/hook"


def _acme_endpoint(t: Tenants) -> str:
    made = webhook_services.create_endpoint(
        t.acme, url=CLOSED_HOOK, event_types=["code.claimed"], description="Isolation"
    )
    return to_global_id("WebhookEndpoint", made.endpoint.pk)


def _acme_dead_delivery(t: Tenants) -> str:
    endpoint = webhook_services.create_endpoint(
        t.acme, url=CLOSED_HOOK, event_types=["code.claimed"]
    ).endpoint
    delivery = WebhookDelivery.objects.create(
        merchant=t.acme,
        endpoint=endpoint,
        event_type="code.claimed",
        payload={"isolation": True},
        status=DeliveryStatus.DEAD,
        attempts=16,
        next_attempt_at=None,
    )
    return to_global_id("WebhookDelivery", delivery.pk)


# Every other merchant mutation, with minimal valid arguments built for acme (the
# target, where one is needed, is acme's operator). Must list every such mutation.
MUTATION_CASES: dict[str, tuple[str, Callable[[Tenants], dict[str, Any]]]] = {
    "staffInvite": (
        "mutation($email: String!) { staffInvite(email: $email, role: VIEWER) "
        "{ member { id } errors { code } } }",
        lambda t: {"email": "isolation-invitee@example.test"},
    ),
    "staffChangeRole": (
        "mutation($id: ID!) { staffChangeRole(id: $id, role: ADMIN) "
        "{ member { id } errors { code } } }",
        lambda t: {"id": _member_gid(t.acme, t.acme_operator)},
    ),
    "staffRemove": (
        "mutation($id: ID!) { staffRemove(id: $id) { removedId errors { code } } }",
        lambda t: {"id": _member_gid(t.acme, t.acme_operator)},
    ),
    "createScanCampaign": (
        'mutation { createScanCampaign(name: "Isolation") { campaign { id } errors { code } } }',
        lambda t: {},
    ),
    "updateCampaign": (
        'mutation($id: ID!) { updateCampaign(id: $id, name: "Renamed") '
        "{ campaign { id } errors { code } } }",
        lambda t: {"id": _acme_campaign(t)},
    ),
    "activateCampaign": (
        "mutation($id: ID!) { activateCampaign(id: $id) { campaign { id } errors { code } } }",
        lambda t: {"id": _acme_campaign(t)},
    ),
    "pauseCampaign": (
        "mutation($id: ID!) { pauseCampaign(id: $id) { campaign { id } errors { code } } }",
        lambda t: {"id": _acme_campaign(t, "active")},
    ),
    "endCampaign": (
        "mutation($id: ID!) { endCampaign(id: $id) { campaign { id } errors { code } } }",
        lambda t: {"id": _acme_campaign(t, "active")},
    ),
    "createCodeBatch": (
        "mutation($id: ID!) { createCodeBatch(campaignId: $id, size: 2, pointsPerCode: 1) "
        "{ batch { id } errors { code } } }",
        lambda t: {"id": _acme_campaign(t, "active")},
    ),
    "voidCodeBatch": (
        "mutation($id: ID!) { voidCodeBatch(id: $id) { batch { id } errors { code } } }",
        lambda t: {"id": _acme_campaign(t, "active", batch=True)},
    ),
    "createCodeImport": (
        "mutation($id: ID!) { createCodeImport(campaignId: $id, layout: CODES, format: CSV, "
        "pointsPerCode: 1) { codeImport { id } errors { code } } }",
        lambda t: {"id": _acme_campaign(t, "active")},
    ),
    "requestBatchExport": (
        "mutation($id: ID!) { requestBatchExport(batchId: $id, format: CSV) "
        "{ export { id } errors { code } } }",
        lambda t: {"id": _ready_acme_batch(t)},
    ),
    "createQuestionnaire": (
        'mutation($q: JSONString!) { createQuestionnaire(name: "Isolation", '
        "pointsPerResponse: 1, maxRewardedResponses: 1, questions: $q) "
        "{ questionnaire { id } errors { code } } }",
        lambda t: {"q": json.dumps([{"id": "q1", "type": "rating", "text": "Rate us"}])},
    ),
    "editQuestions": (
        "mutation($id: ID!, $q: JSONString!) { editQuestions(id: $id, questions: $q) "
        "{ questionnaire { id } errors { code } } }",
        lambda t: {
            "id": _acme_questionnaire(t),
            "q": json.dumps([{"id": "q2", "type": "nps", "text": "Recommend?"}]),
        },
    ),
    "requestQuestionnaireExport": (
        "mutation($id: ID!) { requestQuestionnaireExport(id: $id, format: CSV) "
        "{ downloadUrl errors { code } } }",
        lambda t: {"id": _acme_questionnaire(t)},
    ),
    "consignProduct": (
        'mutation($c: ID!) { consignProduct(title: "Isolation tea", categoryId: $c, '
        "pointsPrice: 10) { product { id } errors { code } } }",
        lambda t: {
            "c": to_global_id("Category", Category.objects.create(slug=f"iso-{uuid4()}").pk)
        },
    ),
    "shipOrder": (
        'mutation($id: ID!) { shipOrder(id: $id, carrier: "SF", trackingNumber: "SF1") '
        "{ order { id } errors { code } } }",
        lambda t: {"id": to_global_id("SupplierOrder", placed_order(t.acme).pk)},
    ),
    "refundOrder": (
        "mutation($id: ID!) { refundOrder(id: $id) { order { id } errors { code } } }",
        lambda t: {"id": to_global_id("SupplierOrder", placed_order(t.acme).pk)},
    ),
    "apiKeyCreate": (
        'mutation { apiKeyCreate(name: "Isolation ERP", scopes: [CAMPAIGNS_READ]) '
        "{ apiKey { id } errors { code } } }",
        lambda t: {},
    ),
    "apiKeyRevoke": (
        "mutation($id: ID!) { apiKeyRevoke(id: $id) { apiKey { id } errors { code } } }",
        lambda t: {"id": to_global_id("ApiKey", _acme_api_key(t).pk)},
    ),
    "merchantLogoUpload": (
        "mutation { merchantLogoUpload { uploadUrl errors { code } } }",
        lambda t: {},
    ),
    "merchantLogoRemove": (
        "mutation { merchantLogoRemove { merchant { slug } errors { code } } }",
        lambda t: _acme_logo(t),
    ),
    "webhookEndpointCreate": (
        "mutation($url: String!) { webhookEndpointCreate(url: $url, eventTypes: [BATCH_READY]) "
        "{ endpoint { id } errors { code } } }",
        lambda t: {"url": CLOSED_HOOK},
    ),
    "webhookEndpointUpdate": (
        'mutation($id: ID!) { webhookEndpointUpdate(id: $id, description: "Renamed") '
        "{ endpoint { id } errors { code } } }",
        lambda t: {"id": _acme_endpoint(t)},
    ),
    "webhookEndpointDelete": (
        "mutation($id: ID!) { webhookEndpointDelete(id: $id) { deletedId errors { code } } }",
        lambda t: {"id": _acme_endpoint(t)},
    ),
    "setPrizeTable": (
        "mutation($id: ID!, $tiers: JSONString!) { setPrizeTable(campaignId: $id, "
        "tiers: $tiers) { prizeTable { draws } errors { code } } }",
        lambda t: {
            "id": _acme_campaign(t),
            "tiers": json.dumps(
                [{"name": "A", "points": 1, "weight": 1}, {"name": "B", "points": 0, "weight": 1}]
            ),
        },
    ),
    "clearPrizeTable": (
        "mutation($id: ID!) { clearPrizeTable(campaignId: $id) { campaign { id } "
        "errors { code } } }",
        lambda t: {"id": _acme_prize_campaign(t)},
    ),
    "awardPoints": (
        'mutation($phone: String!) { awardPoints(phone: $phone, points: 5, reason: "Iso", '
        'externalId: "iso", idempotencyKey: "iso") { award { externalId } errors { code } } }',
        lambda t: _earning_case(t),
    ),
    "recordPurchase": (
        "mutation($phone: String!) { recordPurchase(phone: $phone, amount: 1000, "
        'currency: "CNY", orderId: "iso", idempotencyKey: "iso") '
        "{ award { externalId } errors { code } } }",
        lambda t: _earning_case(t, rule=True),
    ),
    "reverseAward": (
        'mutation($id: String!) { reverseAward(externalId: $id, idempotencyKey: "iso-r") '
        "{ award { externalId } errors { code } } }",
        lambda t: {"id": _acme_award(t)},
    ),
    "setEarningRule": (
        'mutation { setEarningRule(pointsPerUnit: "2", rounding: DOWN) '
        "{ rule { pointsPerUnit } errors { code } } }",
        lambda t: {},
    ),
    "webhookRedeliver": (
        "mutation($id: ID!) { webhookRedeliver(id: $id) { delivery { id } errors { code } } }",
        lambda t: {"id": _acme_dead_delivery(t)},
    ),
    "createDealer": (
        'mutation { createDealer(name: "Isolation", regions: ["440000"]) '
        "{ dealer { id } errors { code } } }",
        lambda t: {},
    ),
    "updateDealer": (
        'mutation($id: ID!) { updateDealer(id: $id, name: "Renamed") '
        "{ dealer { id } errors { code } } }",
        lambda t: {"id": _acme_dealer(t)},
    ),
    "deleteDealer": (
        "mutation($id: ID!) { deleteDealer(id: $id) { deletedId errors { code } } }",
        lambda t: {"id": _acme_dealer(t)},
    ),
    "assignToDealer": (
        "mutation($d: ID!, $b: ID!) { assignToDealer(dealerId: $d, batchId: $b) "
        "{ assignment { id } errors { code } } }",
        lambda t: {"d": _acme_dealer(t), "b": _acme_campaign(t, "active", batch=True)},
    ),
    "unassignFromDealer": (
        "mutation($id: ID!) { unassignFromDealer(id: $id) { deletedId errors { code } } }",
        lambda t: {"id": _acme_assignment(t)},
    ),
    "setCampaignDiversionAction": (
        "mutation($id: ID!) { setCampaignDiversionAction(campaignId: $id, action: REFUSE) "
        "{ action errors { code } } }",
        lambda t: {"id": _acme_campaign(t)},
    ),
    "refreshAnalytics": (
        "mutation { refreshAnalytics { queued errors { code } } }",
        lambda t: {},
    ),
    "requestTopUp": (
        "mutation { requestTopUp(amountMinor: 100000) { requested errors { code } } }",
        lambda t: {},
    ),
}


def _acme_dealer(t: Tenants) -> str:
    with tenant_context(t.acme):
        dealer = dealer_services.create_dealer(f"Isolation {uuid4().hex[:8]}", ["440000"])
    return to_global_id("Dealer", f"{t.acme.pk}:{dealer.pk}")


def _acme_assignment(t: Tenants) -> str:
    batch_id = int(from_global_id(_acme_campaign(t, "active", batch=True)).id.split(":")[1])
    dealer_id = int(from_global_id(_acme_dealer(t)).id.split(":")[1])
    with tenant_context(t.acme):
        made = dealer_services.assign(
            Dealer.objects.get(pk=dealer_id), CodeBatch.objects.get(pk=batch_id)
        )
    return to_global_id("DealerAssignment", f"{t.acme.pk}:{made.pk}")


def _earning_case(t: Tenants, rule: bool = False) -> dict[str, Any]:
    """acme funded (and with an earning rule), and a consumer's phone to award."""
    services.fund_with_money(
        t.acme, amount_minor=100, currency="CNY", rate="10", payment_reference=f"iso-{uuid4()}"
    )
    if rule:
        earning_services.set_rule(
            t.acme,
            points_per_unit="1",
            rounding="down",
            daily_cap=None,
            welcome_bonus=0,
            birthday_bonus=0,
            pending_days=30,
        )
    phone = f"+86137{uuid4().int % 10**8:08d}"
    User.objects.get_or_create_consumer(phone)
    return {"phone": phone}


def _acme_award(t: Tenants) -> str:
    """An award acme made (to a consumer holding it still): its externalId."""
    phone = _earning_case(t)["phone"]
    earning_services.award_points(
        t.acme,
        phone=phone,
        consumer_id=None,
        points=5,
        reason="Iso",
        external_id="iso-award",
        idempotency_key=f"iso-{uuid4()}",
    )
    return "iso-award"


def _acme_logo(t: Tenants) -> dict[str, Any]:
    """acme with a logo (its file need not exist: removing it deletes what is there)."""
    Merchant.objects.filter(pk=t.acme.pk).update(logo="logos/isolation.png")
    return {}


# Mutations that hand out an upload link and change nothing until the file comes
# (the upload itself: tenants/tests/test_branding.py).
LINK_ONLY_MUTATIONS = {"merchantLogoUpload"}


def _acme_api_key(t: Tenants) -> ApiKey:
    """A live key of acme's (its secret is irrelevant here)."""
    return ApiKey.objects.create(
        merchant=t.acme,
        name="Isolation key",
        prefix=f"lk_live_{uuid4().hex[:8]}",
        key_hash="0" * 64,
        scopes=["campaigns:read"],
    )


def _query_fields(schema) -> set[str]:
    return set(schema.graphql_schema.query_type.fields)


def test_every_merchant_query_field_has_an_isolation_case() -> None:
    fields = _query_fields(merchant_schema) - QUERY_FIELDS_TESTED_SEPARATELY
    missing = fields - set(QUERY_CASES)
    assert not missing, f"add an isolation case to QUERY_CASES for: {sorted(missing)}"
    stale = set(QUERY_CASES) - fields
    assert not stale, f"QUERY_CASES names fields the schema no longer has: {sorted(stale)}"


def test_every_merchant_mutation_has_a_permission_case() -> None:
    mutations = (
        set(merchant_schema.graphql_schema.mutation_type.fields)
        - PUBLIC_MUTATIONS
        - WECHAT_MUTATIONS
    )
    missing = mutations - set(MUTATION_CASES)
    assert not missing, f"add a case to MUTATION_CASES for: {sorted(missing)}"
    stale = set(MUTATION_CASES) - mutations
    assert not stale, f"MUTATION_CASES names mutations the schema no longer has: {sorted(stale)}"


# Covered by the consumer tests at the end; the mall's in redemption/tests/test_mall_api.py
# (categories and products are the public catalog, the same for everyone).
CONSUMER_FIELDS_COVERED = {
    "wallet",
    "me",
    "node",
    "scanPreview",
    "categories",
    "products",
    "addresses",
    "orders",
    # Public by link; per consumer only `state` (campaigns/tests/test_questionnaire_api.py).
    "questionnaire",
    # The caller's own (test_notification_preferences_are_the_callers_own below).
    "notificationPreferences",
    # Holds nothing of anyone: a signature over the address it is given, for any caller
    # (tests/test_wechat_jsapi.py).
    "weChatJsConfig",
    # The caller's own (privacy/tests/test_merchant_consent.py, the withdrawal test).
    "merchantConsents",
    # The caller's own (privacy/tests/test_personal_data.py, the copy test).
    "personalData",
    # Public campaigns; per consumer only the order and what they answered already, the
    # caller's own (earning/tests/test_ways_to_earn.py: another consumer's answers hide
    # nothing from you).
    "waysToEarn",
    # Public by code; answers no consumer's identity nor anything per consumer
    # (campaigns/tests/test_scan_events.py).
    "verifyCode",
}


def test_every_consumer_query_field_has_an_isolation_case() -> None:
    new = _query_fields(consumer_schema) - CONSUMER_FIELDS_COVERED
    assert not new, f"write a test that one consumer cannot see another's {sorted(new)}"
    assert _query_fields(consumer_schema) == CONSUMER_FIELDS_COVERED


# --- Merchant queries -------------------------------------------------------------------


@pytest.fixture
def beta_activity(tenants: Tenants, unique: Callable[[str], str]) -> str:
    """Changes to beta's data, all carrying a marker string that must not leak."""
    marker = unique("beta-secret")
    services.fund_with_money(
        tenants.beta, amount_minor=50_000, currency="CNY", rate="10", payment_reference=marker
    )
    services.reserve(tenants.beta, marker, 700, idempotency_key=unique("r"), memo=marker)
    # Points a consumer holds of beta's: beta's liability, never acme's.
    holder = User.objects.get_or_create_consumer(f"+86137{uuid4().int % 10**8:08d}")[0]
    services.award(tenants.beta, marker, holder, 5, idempotency_key=unique("a"), memo=marker)
    # An award through beta's earning API, and its rule.
    earning_services.set_rule(
        tenants.beta,
        points_per_unit="7.1234",
        rounding="up",
        daily_cap=None,
        welcome_bonus=0,
        birthday_bonus=0,
        pending_days=30,
    )
    earning_services.award_points(
        tenants.beta,
        phone=holder.phone,
        consumer_id=None,
        points=5,
        reason=marker,
        external_id=marker,
        idempotency_key=unique("e"),
    )
    clerk = User.objects.create_user(f"{marker}@beta.test", None, name=marker)
    Membership.objects.create(merchant=tenants.beta, user=clerk, role=Role.VIEWER)
    with tenant_context(tenants.beta):
        campaign = scan_services.create_scan_campaign(name=marker)
        batch = scan_services.create_batch(tenants.beta, campaign, size=3, points_per_code=1)
        BatchExport.objects.create(batch=batch, format="csv", total=3)
        CodeImport.objects.create(
            campaign=campaign, name=marker, points_per_code=1, layout="codes", file_format="csv"
        )
        ScanFailure.objects.update_or_create(
            day=timezone.localdate() - timedelta(days=1),
            reason="UNKNOWN_CODE",
            defaults={"count": 9},
        )
        ScanDay.objects.create(day=timezone.localdate(), batch_id=0, scans=9, lookups=9)
        beta_code = new_code(encode_merchant(tenants.beta.pk))
        # A code of the batch (serial 0; the batch is not generated in this transaction).
        Code.objects.create(code=beta_code, batch=batch, serial=0)
        dealer = dealer_services.create_dealer(marker, ["440000"])
        dealer_services.assign(dealer, batch)
        dealer_services.set_diversion_action(campaign, DiversionAction.REFUSE)
        DiversionEvent.objects.create(
            code=beta_code,
            region="110101",
            dealer=dealer,
            batch=batch,
            approximate=False,
            first_scanned_at=timezone.now(),
            last_scanned_at=timezone.now(),
        )
        ScanEvent.objects.create(
            id=uuid4().int % 2**62,
            scanned_at=timezone.now(),
            code=beta_code,
            batch_id=batch.pk,
            consumer_id=holder.pk,
            fingerprint=1,
            agent="wechat",
            source="claim",
            outcome="claimed",
            counted=True,
            region="110101",
            approximate=False,
        )
        CodeScans.objects.create(
            code=beta_code,
            first_scanned_at=timezone.now(),
            last_scanned_at=timezone.now(),
            lookups=9,
            scans=9,
            suspicion=SuspicionReason.MANY_LOOKUPS,
            suspected_at=timezone.now(),
        )
    ApiKey.objects.create(
        merchant=tenants.beta,
        name=marker,
        prefix=f"lk_live_{uuid4().hex[:8]}",
        key_hash="0" * 64,
        scopes=["ledger:read"],
    )
    AuditEvent.objects.create(
        merchant=tenants.beta, actor_label=marker, mutation="staffInvite", result="ok"
    )
    hook = webhook_services.create_endpoint(
        tenants.beta, url=CLOSED_HOOK, event_types=["code.claimed"], description=marker
    ).endpoint
    webhook_events.record(tenants.beta.pk, "code.claimed", lambda: {"marker": marker})
    assert WebhookDelivery.objects.filter(endpoint=hook).exists()
    OfficialAccount.objects.update_or_create(
        merchant=tenants.beta,
        defaults={"app_id": f"wx{uuid4().hex[:16]}", "name": marker, "principal_name": marker},
    )
    return marker


def _acme_official_account(tenants: Tenants) -> None:
    OfficialAccount.objects.update_or_create(
        merchant=tenants.acme,
        defaults={"app_id": f"wx{uuid4().hex[:16]}", "name": "Acme Tea 服务号"},
    )


def _as(api: Api, user: User, document: str, merchant: str | None, **kwargs: Any) -> dict:
    return api.query(document, token=access_token(user), merchant=merchant, **kwargs)


ANALYTICS_LINK = "http://testserver/reports/analytics/"
LEDGER_LINK = "http://testserver/reports/ledger/"


def _what_links_name(value: Any) -> Any:
    """``value`` with each signed analytics link replaced by what its token names.

    A link carries the second it was made (and ``expiresAt`` follows from it), so two
    reads may differ in time only; what must not differ is what they give.
    """
    if isinstance(value, dict):
        return {k: None if k == "expiresAt" else _what_links_name(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_what_links_name(v) for v in value]
    if isinstance(value, str) and value.startswith(ANALYTICS_LINK):
        return ["link", *MERCHANT_CSV.read(value.removeprefix(ANALYTICS_LINK).rstrip("/"))]
    if isinstance(value, str) and value.startswith(LEDGER_LINK):
        return ["link", *LEDGER_CSV.read(value.removeprefix(LEDGER_LINK).rstrip("/"))]
    return value


@pytest.mark.parametrize("field", sorted(QUERY_CASES))
def test_query_field_does_not_show_another_merchants_data(
    merchant_api: Api,
    tenants: Tenants,
    field: str,
    request: pytest.FixtureRequest,
) -> None:
    document = QUERY_CASES[field]
    _acme_official_account(tenants)
    _earning_case(tenants, rule=True)  # earningRule is null until set
    before = _as(merchant_api, tenants.acme_owner, document, "acme")
    assert "errors" not in before, before
    assert before["data"][field] is not None

    marker = request.getfixturevalue("beta_activity")

    after = _as(merchant_api, tenants.acme_owner, document, "acme")
    assert _what_links_name(after) == _what_links_name(before), (
        "acme's view changed when only beta's data did"
    )
    if field in {"analyticsCsv", "ledgerCsv"}:  # the link names acme, whatever beta does
        assert _what_links_name(after)["data"][field]["url"][1] == tenants.acme.pk
    assert marker not in json.dumps(after)
    # Beta's own staff do see the activity where the field shows such data.
    beta_view = json.dumps(_as(merchant_api, tenants.beta_owner, document, "beta"))
    if field in {
        "ledger",
        "ledgerMovements",
        "staff",
        "campaigns",
        "batchExports",
        "codeImports",
        "dashboard",
        "apiKeys",
        "auditLog",
        "webhookEndpoints",
        "webhookDeliveries",
        "officialAccount",
        "dealers",
        "dealerAssignments",
        "diversionEvents",
        "diversionTotals",
        "scanStats",
        "scanStatsCsv",
    }:
        assert marker in beta_view


@pytest.mark.parametrize("field", sorted(QUERY_CASES))
def test_query_field_refuses_a_foreign_merchant(
    merchant_api: Api, tenants: Tenants, field: str
) -> None:
    result = _as(merchant_api, tenants.acme_owner, QUERY_CASES[field], "beta")
    assert result["data"] is None or result["data"].get(field) is None
    assert [e["extensions"]["code"] for e in result["errors"]] == ["MERCHANT_NOT_FOUND"]


@pytest.mark.parametrize("field", sorted(QUERY_CASES))
def test_query_field_needs_sign_in(merchant_api: Api, field: str) -> None:
    result = merchant_api.query(QUERY_CASES[field], merchant="acme")
    assert result["data"] is None or result["data"].get(field) is None
    assert [e["extensions"]["code"] for e in result["errors"]] == ["UNAUTHENTICATED"]


CODE_SCANS = "query($code: String!) { codeScans(code: $code) { code events { outcome } } }"


def test_a_codes_scan_history_is_its_merchants_only(
    merchant_api: Api, tenants: Tenants, beta_activity: str
) -> None:
    with tenant_context(tenants.beta):
        beta_code = CodeScans.objects.get().code
    variables = {"code": beta_code}
    beta_view = _as(merchant_api, tenants.beta_owner, CODE_SCANS, "beta", variables=variables)
    assert beta_view["data"]["codeScans"]["code"] == beta_code
    # acme's staff, in acme's schema: no such code there.
    acme_view = _as(merchant_api, tenants.acme_owner, CODE_SCANS, "acme", variables=variables)
    assert [e["extensions"]["code"] for e in acme_view["errors"]] == ["NOT_FOUND"]
    foreign = _as(merchant_api, tenants.acme_owner, CODE_SCANS, "beta", variables=variables)
    assert [e["extensions"]["code"] for e in foreign["errors"]] == ["MERCHANT_NOT_FOUND"]
    anonymous = merchant_api.query(CODE_SCANS, variables, merchant="beta")
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]


def test_me_lists_only_the_callers_own_memberships(merchant_api: Api, tenants: Tenants) -> None:
    document = "query { me { email memberships(first: 50) { edges { node { id role merchant { slug } } } } } }"  # noqa: E501
    me = _as(merchant_api, tenants.acme_admin, document, None)["data"]["me"]
    assert me["email"] == tenants.acme_admin.email
    nodes = [edge["node"] for edge in me["memberships"]["edges"]]
    assert [(n["merchant"]["slug"], n["role"]) for n in nodes] == [("acme", "ADMIN")]
    own = Membership.objects.get(user=tenants.acme_admin)
    assert nodes[0]["id"] == to_global_id("MyMembership", own.pk)


NODE_QUERY = "query($id: ID!) { node(id: $id) { __typename id } }"


def _node(api: Api, user: User, gid: str, merchant: str | None) -> dict:
    return _as(api, user, NODE_QUERY, merchant, variables={"id": gid}, expect_status=None)


def test_node_does_not_resolve_another_merchants_objects(
    merchant_api: Api, tenants: Tenants, beta_activity: str
) -> None:
    beta_entries = Entry.objects.filter(account__merchant=tenants.beta).order_by("-id")[:2]
    assert beta_entries
    beta_ids = [to_global_id("LedgerEntry", entry.pk) for entry in beta_entries]
    beta_ids.append(_member_gid(tenants.beta, tenants.beta_owner))
    beta_membership = Membership.objects.get(merchant=tenants.beta, user=tenants.beta_owner)
    beta_ids.append(to_global_id("MyMembership", beta_membership.pk))
    with tenant_context(tenants.beta):
        campaign = Campaign.objects.get(name=beta_activity)
        batch = CodeBatch.objects.get(campaign=campaign)
    beta_ids.append(to_global_id("Campaign", f"{tenants.beta.pk}:{campaign.pk}"))
    beta_ids.append(to_global_id("CodeBatch", f"{tenants.beta.pk}:{batch.pk}"))
    with tenant_context(tenants.beta):
        export = BatchExport.objects.get(batch=batch)
    beta_ids.append(to_global_id("BatchExport", f"{tenants.beta.pk}:{export.pk}"))
    for gid in beta_ids:
        # The IDs are real: beta's owner reads each of them...
        own = _node(merchant_api, tenants.beta_owner, gid, "beta")
        assert own["data"]["node"]["id"] == gid, own
        # ...and acme's owner, asking as acme, gets nothing.
        foreign = _node(merchant_api, tenants.acme_owner, gid, "acme")
        assert foreign["data"]["node"] is None, (gid, foreign)
        assert beta_activity not in json.dumps(foreign)


def test_node_resolves_the_merchants_own_objects(
    merchant_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    services.fund_with_money(
        tenants.acme, amount_minor=100, currency="CNY", rate="10", payment_reference=unique("p")
    )
    entry = Entry.objects.filter(account__merchant=tenants.acme).latest("id")
    for typename, gid in [
        ("LedgerEntry", to_global_id("LedgerEntry", entry.pk)),
        ("StaffMember", _member_gid(tenants.acme, tenants.acme_viewer)),
        ("Campaign", _acme_campaign(tenants)),
        ("CodeBatch", _acme_campaign(tenants, batch=True)),
    ]:
        result = _node(merchant_api, tenants.acme_viewer, gid, "acme")
        assert result["data"]["node"] == {"__typename": typename, "id": gid}


def test_merchant_node_does_not_resolve_wallet_entries(
    merchant_api: Api, tenants: Tenants, consumer: User, unique: Callable[[str], str]
) -> None:
    entry = _award(tenants, consumer, 5, unique)
    for typename in ("WalletEntry", "LedgerEntry"):
        result = _node(merchant_api, tenants.acme_owner, to_global_id(typename, entry.pk), "acme")
        assert (result.get("data") or {}).get("node") is None, (typename, result)


def test_staff_mutations_cannot_reach_another_merchants_members(
    merchant_api: Api, tenants: Tenants
) -> None:
    beta_owner_id = _member_gid(tenants.beta, tenants.beta_owner)
    changed = _as(
        merchant_api,
        tenants.acme_owner,
        MUTATION_CASES["staffChangeRole"][0],
        "acme",
        variables={"id": beta_owner_id},
    )["data"]["staffChangeRole"]
    assert changed == {"member": None, "errors": [{"code": "NOT_FOUND"}]}
    removed = _as(
        merchant_api,
        tenants.acme_owner,
        MUTATION_CASES["staffRemove"][0],
        "acme",
        variables={"id": beta_owner_id},
    )["data"]["staffRemove"]
    assert removed == {"removedId": None, "errors": [{"code": "NOT_FOUND"}]}
    membership = Membership.objects.get(merchant=tenants.beta, user=tenants.beta_owner)
    assert membership.role == Role.OWNER
    assert Membership.objects.filter(merchant=tenants.beta).count() == 1


# --- Merchant mutations: a viewer may change nothing ------------------------------------------


def _acme_state(tenants: Tenants) -> tuple[list[Any], ...]:
    staff = sorted(Membership.objects.filter(merchant=tenants.acme).values_list("user_id", "role"))
    with tenant_context(tenants.acme):
        campaigns = sorted(Campaign.objects.values_list("pk", "name", "status"))
        batches = sorted(CodeBatch.objects.values_list("pk", "status"))
        exports = sorted(BatchExport.objects.values_list("pk", "status"))
        code_imports = sorted(CodeImport.objects.values_list("pk", "status"))
        versions = sorted(QuestionnaireVersion.objects.values_list("pk", "number", "questions"))
        prize_tiers = sorted(PrizeTier.objects.values_list("pk", "name", "points"))
    folder = f"questionnaire-exports/{tenants.acme.schema_name}"
    files = sorted(default_storage.listdir(folder)[1]) if default_storage.exists(folder) else []
    connection.set_schema_to_public()
    products = sorted(Product.objects.filter(supplier=tenants.acme).values_list("pk", "status"))
    orders = sorted(Order.objects.filter(supplier=tenants.acme).values_list("pk", "status"))
    keys = sorted(ApiKey.objects.filter(merchant=tenants.acme).values_list("pk", "revoked_at"))
    hooks = sorted(
        WebhookEndpoint.objects.filter(merchant=tenants.acme).values_list(
            "pk", "url", "description", "is_active", "deleted_at", "secret"
        )
    )
    deliveries = sorted(
        WebhookDelivery.objects.filter(merchant=tenants.acme).values_list(
            "pk", "status", "attempts"
        )
    )
    awards = sorted(Award.objects.filter(merchant=tenants.acme).values_list("pk", "status"))
    rules = sorted(
        EarningRule.objects.filter(merchant=tenants.acme).values_list("pk", "points_per_unit")
    )
    with tenant_context(tenants.acme):
        dealers: list[Any] = [
            sorted(Dealer.objects.values_list("pk", "name", "regions")),
            sorted(DealerAssignment.objects.values_list("pk", "first_serial", "last_serial")),
            sorted(DiversionPolicy.objects.values_list("campaign_id", "action")),
        ]
    connection.set_schema_to_public()
    refreshed = list(
        MerchantRollup.objects.filter(merchant=tenants.acme).values_list("rolled_at", flat=True)
    )
    top_ups = sorted(TopUpRequest.objects.filter(merchant=tenants.acme).values_list("pk"))
    logo = list(Merchant.objects.filter(pk=tenants.acme.pk).values_list("logo", flat=True))
    return (
        logo,
        staff,
        campaigns,
        batches,
        exports,
        code_imports,
        products,
        orders,
        versions,
        files,
        keys,
        hooks,
        deliveries,
        prize_tiers,
        awards,
        rules,
        dealers,
        refreshed,
        top_ups,
    )


@pytest.mark.parametrize("mutation", sorted(MUTATION_CASES))
def test_viewer_is_refused_every_merchant_mutation(
    merchant_api: Api, tenants: Tenants, mutation: str, django_capture_on_commit_callbacks
) -> None:
    document, variables = MUTATION_CASES[mutation]
    arguments = variables(tenants)  # may make the target, before the state is taken
    state = _acme_state(tenants)
    users = User.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = _as(merchant_api, tenants.acme_viewer, document, "acme", variables=arguments)
    payload = result["data"][mutation]
    assert payload["errors"] == [{"code": "PERMISSION_DENIED"}]
    assert [value for key, value in payload.items() if key != "errors"] == [None]
    assert _acme_state(tenants) == state
    assert User.objects.count() == users
    assert callbacks == []


@pytest.mark.parametrize("mutation", sorted(MUTATION_CASES))
def test_every_merchant_mutation_needs_sign_in(
    merchant_api: Api, tenants: Tenants, mutation: str
) -> None:
    document, variables = MUTATION_CASES[mutation]
    arguments = variables(tenants)
    state = _acme_state(tenants)
    result = merchant_api.query(document, arguments, merchant="acme")
    assert result["data"][mutation]["errors"] == [{"code": "UNAUTHENTICATED"}]
    assert _acme_state(tenants) == state


@pytest.mark.parametrize("mutation", sorted(MUTATION_CASES))
def test_every_merchant_mutation_works_for_the_owner(
    merchant_api: Api, tenants: Tenants, mutation: str, django_capture_on_commit_callbacks
) -> None:
    """The cases above are refusals of otherwise valid calls, not of broken arguments."""
    document, variables = MUTATION_CASES[mutation]
    arguments = variables(tenants)
    state = _acme_state(tenants)
    with django_capture_on_commit_callbacks(execute=True):
        result = _as(merchant_api, tenants.acme_owner, document, "acme", variables=arguments)
    assert result["data"][mutation]["errors"] == []
    if mutation in LINK_ONLY_MUTATIONS:
        assert result["data"][mutation]["uploadUrl"]
    else:
        assert _acme_state(tenants) != state


# --- Applications: a merchant that is not approved does nothing but say who and where ------

# The fields an application's staff may read: its name and status, their role, themselves.
APPLICATION_FIELDS = {"merchant", "myRole", "me"}


@pytest.fixture(params=[MerchantStatus.PENDING, MerchantStatus.REJECTED])
def application(request: pytest.FixtureRequest, tenants: Tenants) -> tuple[Merchant, User]:
    """A sign-up (no schema), pending or declined, and its owner, also on acme's staff as
    a viewer: membership elsewhere must not open anything."""
    owner = User.objects.create_user(f"{uuid4().hex[:8]}@applicant.test", "Applicant-pw-1")
    merchant = onboarding.apply(slug=f"app-{uuid4().hex[:8]}", name="Applicant", owner=owner)
    Merchant.objects.filter(pk=merchant.pk).update(status=request.param)
    Membership.objects.create(merchant=tenants.acme, user=owner, role=Role.VIEWER)
    return Merchant.objects.get(pk=merchant.pk), owner


@pytest.mark.parametrize("field", sorted(set(QUERY_CASES) - APPLICATION_FIELDS))
def test_an_application_is_refused_every_query_field(
    merchant_api: Api, application: tuple[Merchant, User], field: str
) -> None:
    merchant, owner = application
    result = _as(merchant_api, owner, QUERY_CASES[field], merchant.slug)
    assert result["data"] is None or result["data"].get(field) is None
    assert [e["extensions"]["code"] for e in result["errors"]] == ["MERCHANT_NOT_ACTIVE"]


@pytest.mark.parametrize("mutation", sorted(MUTATION_CASES))
def test_an_application_is_refused_every_mutation(
    merchant_api: Api,
    tenants: Tenants,
    application: tuple[Merchant, User],
    mutation: str,
    django_capture_on_commit_callbacks,
) -> None:
    merchant, owner = application
    document, variables = MUTATION_CASES[mutation]
    arguments = variables(tenants)
    state = _acme_state(tenants)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = _as(merchant_api, owner, document, merchant.slug, variables=arguments)
    assert result["data"][mutation]["errors"] == [{"code": "MERCHANT_NOT_ACTIVE"}]
    assert _acme_state(tenants) == state
    assert callbacks == []


def test_an_application_answers_who_and_where_and_no_node(
    merchant_api: Api, tenants: Tenants, application: tuple[Merchant, User]
) -> None:
    merchant, owner = application
    who = _as(merchant_api, owner, QUERY_CASES["merchant"], merchant.slug)
    assert who["data"]["merchant"]["status"] == merchant.status.upper()
    assert _as(merchant_api, owner, QUERY_CASES["myRole"], merchant.slug)["data"] == {
        "myRole": "OWNER"
    }
    own = Membership.objects.get(merchant=merchant, user=owner)
    for gid in (to_global_id("StaffMember", own.pk), _acme_campaign(tenants)):
        result = _node(merchant_api, owner, gid, merchant.slug)
        assert (result.get("data") or {}).get("node") is None, result
        assert [e["extensions"]["code"] for e in result["errors"]] == ["MERCHANT_NOT_ACTIVE"]
    # The same person, asking as acme's viewer, reads acme as before.
    assert _as(merchant_api, owner, QUERY_CASES["campaigns"], "acme")["data"]["campaigns"]


def test_a_sign_up_reaches_no_existing_merchant(
    merchant_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    """Signed in as acme's owner and naming acme, a sign-up still makes a separate,
    pending merchant owned by a new account; acme's slug and staff cannot be taken."""
    document = (
        'mutation($slug: String!, $email: String!) { merchantSignUp(name: "Side shop", '
        'slug: $slug, contactEmail: $email, ownerName: "New", password: "Side-shop-pw-1") '
        "{ merchant { slug status } errors { field code } } }"
    )
    acme_staff = sorted(
        Membership.objects.filter(merchant=tenants.acme).values_list("user_id", "role")
    )

    def sign_up(slug: str, email: str) -> dict[str, Any]:
        variables = {"slug": slug, "email": email}
        result = _as(merchant_api, tenants.acme_owner, document, "acme", variables=variables)
        return result["data"]["merchantSignUp"]

    assert sign_up("acme", f"{unique('x')}@side.test")["errors"] == [
        {"field": "slug", "code": "SLUG_TAKEN"}
    ]
    assert sign_up(unique("side"), tenants.beta_owner.get_username())["errors"] == [
        {"field": "contactEmail", "code": "EMAIL_TAKEN"}
    ]
    slug, email = unique("side"), f"{unique('side')}@side.test"
    assert sign_up(slug, email) == {"merchant": {"slug": slug, "status": "PENDING"}, "errors": []}
    side = Merchant.objects.get(slug=slug)
    assert list(Membership.objects.filter(merchant=side).values_list("user__email", "role")) == [
        (email, Role.OWNER)
    ]
    assert (
        sorted(Membership.objects.filter(merchant=tenants.acme).values_list("user_id", "role"))
        == acme_staff
    )
    assert (
        not Membership.objects.filter(merchant=tenants.beta)
        .exclude(user=tenants.beta_owner)
        .exists()
    )


# --- Consumers ----------------------------------------------------------------------------


def _award(tenants: Tenants, consumer: User, points: int, unique: Callable[[str], str]) -> Entry:
    services.fund_with_money(
        tenants.acme, amount_minor=10_000, currency="CNY", rate="10", payment_reference=unique("p")
    )
    ref = unique("campaign")
    services.reserve(tenants.acme, ref, points, idempotency_key=unique("r"))
    services.award(tenants.acme, ref, consumer, points, idempotency_key=unique("a"))
    return Entry.objects.filter(
        account__kind=AccountKind.CONSUMER_WALLET, account__consumer=consumer
    ).latest("id")


WALLET_NODE = "query($id: ID!) { node(id: $id) { id ... on WalletEntry { amount } } }"


def test_consumer_cannot_read_another_consumers_wallet_entry(
    consumer_api: Api,
    tenants: Tenants,
    new_phone: Callable[[], str],
    unique: Callable[[str], str],
) -> None:
    alice, _ = User.objects.get_or_create_consumer(new_phone())
    bob, _ = User.objects.get_or_create_consumer(new_phone())
    alice_entry = _award(tenants, alice, 11, unique)
    bob_entry = _award(tenants, bob, 22, unique)
    alice_gid = to_global_id("WalletEntry", alice_entry.pk)
    bob_gid = to_global_id("WalletEntry", bob_entry.pk)

    mine = consumer_api.query(WALLET_NODE, {"id": alice_gid}, token=access_token(alice))
    assert mine["data"]["node"] == {"id": alice_gid, "amount": 11}
    theirs = consumer_api.query(WALLET_NODE, {"id": bob_gid}, token=access_token(alice))
    assert theirs["data"]["node"] is None
    anonymous = consumer_api.query(WALLET_NODE, {"id": bob_gid}, expect_status=None)
    assert (anonymous.get("data") or {}).get("node") is None
    # Ledger entries are not nodes of the consumer API at all.
    ledger = consumer_api.query(
        WALLET_NODE, {"id": to_global_id("LedgerEntry", bob_entry.pk)}, token=access_token(alice)
    )
    assert ledger["data"]["node"] is None

    # Staff tokens get no wallet: only consumers have one.
    staff = consumer_api.query(WALLET_NODE, {"id": bob_gid}, token=access_token(tenants.acme_owner))
    assert staff["data"]["node"] is None


def test_wallet_shows_only_the_consumers_own_history(
    consumer_api: Api,
    tenants: Tenants,
    new_phone: Callable[[], str],
    unique: Callable[[str], str],
) -> None:
    alice, _ = User.objects.get_or_create_consumer(new_phone())
    bob, _ = User.objects.get_or_create_consumer(new_phone())
    for points in (3, 4):
        _award(tenants, alice, points, unique)
    for points in (50, 60, 70):
        _award(tenants, bob, points, unique)

    for consumer, amounts in ((alice, [4, 3]), (bob, [70, 60, 50])):
        wallet = consumer_api.op("Wallet", {"first": 50}, token=access_token(consumer))
        wallet = wallet["data"]["wallet"]
        nodes = [edge["node"] for edge in wallet["history"]["edges"]]
        assert [node["amount"] for node in nodes] == amounts
        assert wallet["balance"] == sum(amounts)
        own = {
            to_global_id("WalletEntry", pk)
            for pk in Entry.objects.filter(account__consumer=consumer).values_list("pk", flat=True)
        }
        assert {node["id"] for node in nodes} == own


def test_scan_preview_is_the_same_for_everyone_and_names_no_claimer(
    consumer_api: Api, tenants: Tenants, new_phone: Callable[[], str], unique: Callable[[str], str]
) -> None:
    from django_tenants.utils import tenant_context

    from campaigns.models import CampaignStatus, Code
    from campaigns.scan.claims import claim_code
    from campaigns.scan.generation import generate_batch
    from campaigns.scan.services import create_batch, create_scan_campaign
    from campaigns.services import set_status

    services.fund_with_money(
        tenants.acme, amount_minor=1_000, currency="CNY", rate="10", payment_reference=unique("p")
    )
    with tenant_context(tenants.acme):
        campaign = create_scan_campaign(name="Isolation caps")
        set_status(tenants.acme, campaign, CampaignStatus.ACTIVE)
        batch = generate_batch(create_batch(tenants.acme, campaign, size=1, points_per_code=5).pk)
        code = Code.objects.get(batch=batch).code
    alice, _ = User.objects.get_or_create_consumer(new_phone())
    bob, _ = User.objects.get_or_create_consumer(new_phone())
    claim_code(alice, code, unique("k"))

    views = [
        consumer_api.op("ScanPreview", {"code": code}, token=token)
        for token in (access_token(alice), access_token(bob), None)
    ]
    assert views[0]["data"]["scanPreview"]["status"] == "ALREADY_CLAIMED"
    assert views[0] == views[1] == views[2]
    assert alice.phone is not None
    assert alice.phone[3:] not in json.dumps(views[0])


def test_notification_preferences_are_the_callers_own(
    consumer_api: Api, new_phone: Callable[[], str]
) -> None:
    alice, _ = User.objects.get_or_create_consumer(new_phone())
    bob, _ = User.objects.get_or_create_consumer(new_phone())
    changed = consumer_api.op(
        "SetNotificationPreferences", {"expiryReminders": False}, token=access_token(alice)
    )["data"]["setNotificationPreferences"]
    assert changed["preferences"] == {"expiryReminders": False, "orderUpdates": True}
    for user, expected in ((alice, False), (bob, True)):
        prefs = consumer_api.op("NotificationPreferences", token=access_token(user))
        assert prefs["data"]["notificationPreferences"]["expiryReminders"] is expected
    anonymous = consumer_api.op("NotificationPreferences", expect_status=None)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
