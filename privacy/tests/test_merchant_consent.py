"""Consent to share with each merchant (PIPL art. 23), and re-consent to new versions of
our own documents, through the consumer and merchant APIs over HTTP (real PostgreSQL and
Redis), with the operations the pages send (graphql/operations/).

A planted violation that these tests catch: removing the ``merchant_consent.ensure`` call
from ``campaigns.scan.claims.claim_code`` (or from ``submit_to``) fails the first two
tests; making ``identity_withheld`` always false fails the export test.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from accounts import policies
from accounts.models import Consent, User
from accounts.sms import MemorySmsBackend
from campaigns.models import Claim, Response
from campaigns.questionnaires import exports as questionnaire_exports
from campaigns.tests.test_consumer_claims import make_codes
from campaigns.tests.test_questionnaire_api import GOOD, campaign_of, create
from core.db import connection
from points import services
from privacy import consent
from privacy.models import MerchantConsent
from tenants.models import Merchant
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants
from tests.test_wechat_signin import codes as error_codes
from tests.test_wechat_signin import sign_in as sign_in_with_wechat
from tests.test_wechat_signin import ticket_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _asked(settings: Any) -> None:
    settings.MERCHANT_CONSENT_REQUIRED = True


@pytest.fixture
def funded(tenants: Tenants, unique: Callable[[str], str]) -> Tenants:
    for merchant in (tenants.acme, tenants.beta):
        services.fund_with_money(
            merchant,
            amount_minor=100_000,
            currency="CNY",
            rate="100",
            payment_reference=unique("pay"),
        )
    return tenants


def claim(api: Api, consumer: User, code: str, key: str, share: bool | None = None) -> dict:
    variables: dict[str, Any] = {"code": code, "idempotencyKey": key}
    if share is not None:
        variables["shareWithMerchant"] = share
    return api.op("ClaimCode", variables, token=access_token(consumer))["data"]["claimCode"]


def codes_of(payload: dict) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def live(consumer: User, merchant: Merchant) -> list[MerchantConsent]:
    return list(
        MerchantConsent.objects.filter(user=consumer, merchant=merchant, withdrawn_at__isnull=True)
    )


def test_a_first_claim_with_a_merchant_asks_and_the_same_tap_consents(
    consumer_api: Api,
    funded: Tenants,
    consumer: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _campaign, _batch, acme_codes = make_codes(funded.acme, size=3)
    _campaign, _batch, beta_codes = make_codes(funded.beta, size=1)

    refused = claim(consumer_api, consumer, acme_codes[0], "k1")
    assert codes_of(refused) == ["MERCHANT_CONSENT_REQUIRED"]
    assert refused["errors"][0]["field"] == "shareWithMerchant"
    assert funded.acme.name in refused["errors"][0]["message"]
    assert refused["claim"] is None
    with tenant_context(funded.acme):
        assert not Claim.objects.filter(consumer=consumer).exists()
    assert not MerchantConsent.objects.filter(user=consumer).exists()
    # Unticked is the same as not sent: never consent by default.
    assert codes_of(claim(consumer_api, consumer, acme_codes[0], "k1", False)) == [
        "MERCHANT_CONSENT_REQUIRED"
    ]

    with django_capture_on_commit_callbacks(execute=True):
        done = claim(consumer_api, consumer, acme_codes[0], "k1", True)
    assert done["errors"] == [] and done["claim"]["points"] == 7
    [given] = live(consumer, funded.acme)
    assert given.version == consent.MERCHANT_CONSENT_VERSION
    assert given.channel == MerchantConsent.Channel.CLAIM and given.given_at is not None

    # Asked once per merchant: the next claim with acme needs nothing more...
    assert claim(consumer_api, consumer, acme_codes[1], "k2")["errors"] == []
    # ...and another merchant asks for its own consent.
    assert codes_of(claim(consumer_api, consumer, beta_codes[0], "k3")) == [
        "MERCHANT_CONSENT_REQUIRED"
    ]
    assert len(MerchantConsent.objects.filter(user=consumer)) == 1


def test_a_first_answer_to_a_questionnaire_asks_too(
    consumer_api: Api, merchant_api: Api, funded: Tenants, consumer: User
) -> None:
    q = create(merchant_api, funded)

    def submit(share: bool | None) -> dict:
        variables: dict[str, Any] = {
            "link": q["link"],
            "answers": json.dumps(GOOD),
            "idempotencyKey": "q1",
        }
        if share is not None:
            variables["shareWithMerchant"] = share
        result = consumer_api.op("SubmitResponse", variables, token=access_token(consumer))
        return result["data"]["submitResponse"]

    assert codes_of(submit(None)) == ["MERCHANT_CONSENT_REQUIRED"]
    with tenant_context(funded.acme):
        assert not Response.objects.filter(consumer=consumer).exists()
    assert submit(True)["errors"] == []
    [given] = live(consumer, funded.acme)
    assert given.channel == MerchantConsent.Channel.QUESTIONNAIRE


def test_the_cached_check_costs_no_query_and_a_change_is_seen_at_once(
    funded: Tenants, consumer: User, django_capture_on_commit_callbacks: Any
) -> None:
    merchant_id = funded.acme.pk
    assert consent.has_consented(consumer.pk, merchant_id) is False
    with django_capture_on_commit_callbacks(execute=True):
        consent.give(consumer, merchant_id, MerchantConsent.Channel.CLAIM)
    assert consent.has_consented(consumer.pk, merchant_id) is True  # the entry was dropped
    with CaptureQueriesContext(connection) as queries:
        consent.ensure(consumer, merchant_id, False, MerchantConsent.Channel.CLAIM)
    assert len(queries) == 0
    with django_capture_on_commit_callbacks(execute=True):
        consent.withdraw(consumer, merchant_id)
    assert consent.has_consented(consumer.pk, merchant_id) is False


def test_withdrawing_hides_the_consumer_from_the_merchant_and_the_next_claim_asks_again(
    consumer_api: Api,
    merchant_api: Api,
    funded: Tenants,
    new_phone: Callable[[], str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    q = create(merchant_api, funded)
    stays = User.objects.get_or_create_consumer(new_phone())[0]
    leaves = User.objects.get_or_create_consumer(new_phone())[0]
    for consumer in (stays, leaves):
        result = consumer_api.op(
            "SubmitResponse",
            {
                "link": q["link"],
                "answers": json.dumps(GOOD),
                "idempotencyKey": f"q-{consumer.pk}",
                "shareWithMerchant": True,
            },
            token=access_token(consumer),
        )["data"]["submitResponse"]
        assert result["errors"] == [], result

    listed = consumer_api.op("MerchantConsents", token=access_token(leaves))["data"]
    [edge] = listed["merchantConsents"]["edges"]
    assert edge["node"]["merchantName"] == funded.acme.name
    # Each consumer lists only their own; someone else's cannot be withdrawn either.
    theirs = consumer_api.op("MerchantConsents", token=access_token(stays))["data"]
    [other] = theirs["merchantConsents"]["edges"]
    assert other["node"]["id"] != edge["node"]["id"]
    foreign = consumer_api.op(
        "WithdrawMerchantConsent", {"id": edge["node"]["id"]}, token=access_token(stays)
    )["data"]["withdrawMerchantConsent"]
    assert codes_of(foreign) == ["NOT_FOUND"]
    with django_capture_on_commit_callbacks(execute=True):
        done = consumer_api.op(
            "WithdrawMerchantConsent", {"id": edge["node"]["id"]}, token=access_token(leaves)
        )["data"]["withdrawMerchantConsent"]
    assert done == {"ok": True, "errors": []}
    again = consumer_api.op(
        "WithdrawMerchantConsent", {"id": edge["node"]["id"]}, token=access_token(leaves)
    )["data"]["withdrawMerchantConsent"]
    assert codes_of(again) == ["MERCHANT_CONSENT_NOT_GIVEN"]
    assert (
        consumer_api.op("MerchantConsents", token=access_token(leaves))["data"]["merchantConsents"][
            "edges"
        ]
        == []
    )
    # The evidence stays: the row is stamped, not deleted.
    assert MerchantConsent.objects.get(user=leaves).withdrawn_at is not None

    # The merchant's export and list show the one who left without identity...
    with tenant_context(funded.acme):
        buffer = io.BytesIO()
        questionnaire_exports.write_csv(campaign_of(funded, q), buffer)
    exported = list(csv.reader(io.StringIO(buffer.getvalue().decode("utf-8-sig"))))
    phones = sorted(row[1] for row in exported[1:])
    assert phones == sorted(["", stays.masked_phone])
    listed_responses = merchant_api.op(
        "QuestionnaireResponses",
        {"id": q["id"], "first": 10},
        token=access_token(funded.acme_viewer),
        merchant="acme",
    )
    nodes = listed_responses["data"]["node"]["responses"]["edges"]
    assert sorted(edge["node"]["maskedPhone"] for edge in nodes) == phones

    # ...and the next participation asks again.
    _campaign, _batch, acme_codes = make_codes(funded.acme, size=1)
    assert codes_of(claim(consumer_api, leaves, acme_codes[0], "k1")) == [
        "MERCHANT_CONSENT_REQUIRED"
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert claim(consumer_api, leaves, acme_codes[0], "k1", True)["errors"] == []
    assert MerchantConsent.objects.filter(user=leaves).count() == 2
    assert len(live(leaves, funded.acme)) == 1


def test_a_new_version_of_the_merchant_consent_asks_again(
    consumer_api: Api,
    funded: Tenants,
    consumer: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _campaign, _batch, acme_codes = make_codes(funded.acme, size=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert claim(consumer_api, consumer, acme_codes[0], "k1", True)["errors"] == []
    monkeypatch.setattr(consent, "MERCHANT_CONSENT_VERSION", "2099-01-01")
    assert codes_of(claim(consumer_api, consumer, acme_codes[1], "k2")) == [
        "MERCHANT_CONSENT_REQUIRED"
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert claim(consumer_api, consumer, acme_codes[1], "k2", True)["errors"] == []
    [current] = live(consumer, funded.acme)
    assert current.version == "2099-01-01"  # the older one was closed
    assert MerchantConsent.objects.filter(user=consumer).count() == 2


# --- Our own documents: a new version is accepted at the next sign-in ------------------


def test_a_returning_wechat_consumer_accepts_a_new_version_of_the_policies(
    fake_wechat: Any, consumer_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sign_in_with_wechat(consumer_api, ticket_for("ivy"), True)["errors"] == []
    user = Consent.objects.latest("given_at").user
    assert policies.missing_consents(user) == []
    monkeypatch.setitem(policies.CURRENT_VERSIONS, Consent.Document.PRIVACY, "2099-01-01")
    assert policies.missing_consents(user) == [Consent.Document.PRIVACY]

    ticket = ticket_for("ivy")
    assert error_codes(sign_in_with_wechat(consumer_api, ticket)) == ["CONSENT_REQUIRED"]
    assert sign_in_with_wechat(consumer_api, ticket, True)["errors"] == []
    newest = Consent.objects.filter(user=user, document=Consent.Document.PRIVACY).latest("given_at")
    assert newest.version == "2099-01-01" and newest.channel == Consent.Channel.WECHAT
    assert Consent.objects.filter(user=user).count() == 3  # the terms were not asked again
    # Accepted once: the next sign-in is silent.
    assert sign_in_with_wechat(consumer_api, ticket_for("ivy"))["errors"] == []


def test_a_returning_phone_consumer_agrees_to_a_new_version_by_signing_in(
    consumer_api: Api,
    new_phone: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    phone = new_phone()

    def sign_in_by_phone() -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            consumer_api.op("RequestSignInCode", {"phone": phone})
        found = re.search(r"\b(\d{6})\b", MemorySmsBackend.outbox[-1].message)
        assert found
        variables = {"phone": phone, "code": found[1]}
        return consumer_api.op("SignInWithCode", variables)["data"]["signInWithCode"]

    assert sign_in_by_phone()["errors"] == []
    user = User.objects.get(phone=phone)
    monkeypatch.setitem(policies.CURRENT_VERSIONS, Consent.Document.TERMS, "2099-01-01")
    cache.clear()  # the resend interval
    assert sign_in_by_phone()["errors"] == []
    assert set(Consent.objects.filter(user=user).values_list("document", "version")) == {
        (Consent.Document.TERMS, "2099-01-01"),
        *policies.CURRENT_VERSIONS.items(),
        (Consent.Document.TERMS, "2026-12-05"),
    }


def test_a_merge_moves_the_merged_accounts_consents_to_the_survivor(
    funded: Tenants, new_phone: Callable[[], str], django_capture_on_commit_callbacks: Any
) -> None:
    from accounts import merge

    survivor = User.objects.get_or_create_consumer(new_phone())[0]
    merged = User.objects.get_or_create_consumer(new_phone())[0]
    with django_capture_on_commit_callbacks(execute=True):
        consent.give(merged, funded.acme.pk, MerchantConsent.Channel.CLAIM)
        consent.give(merged, funded.beta.pk, MerchantConsent.Channel.CLAIM)
        consent.give(survivor, funded.beta.pk, MerchantConsent.Channel.CLAIM)
    assert consent.has_consented(survivor.pk, funded.acme.pk) is False
    merged.phone = None  # two accounts of one person: one phone between them
    merged.save(update_fields=["phone"])
    with django_capture_on_commit_callbacks(execute=True):
        merge.merge(survivor.pk, merged.pk)
    assert consent.has_consented(survivor.pk, funded.acme.pk) is True
    assert len(live(survivor, funded.beta)) == 1  # the survivor's own stays the one
