"""The merchant earning API through the merchant GraphQL endpoint: awards, purchases,
pending awards to phones, reversals, keys and their scope."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts import pseudonyms
from accounts.models import User
from accounts.sms import MemorySmsBackend
from earning import services
from earning.models import Award, AwardStatus, EarningRule
from points import balances, ledger
from points import services as points_services
from points.models import Transaction, TransactionKind
from tenants import apikeys
from tenants.models import ApiScope, Membership, Merchant
from tenants.onboarding import create_merchant
from tests.fixtures.api import Api
from tests.fixtures.concurrency import run_in_threads
from tests.fixtures.tenants import Tenants

AWARD = """
mutation($phone: String, $consumerId: String, $points: BigInt!, $reason: String!,
         $externalId: String!, $key: String!) {
  awardPoints(phone: $phone, consumerId: $consumerId, points: $points, reason: $reason,
              externalId: $externalId, idempotencyKey: $key) {
    award { externalId kind points reason reversed }
    replayed
    errors { field code }
  }
}
"""
PURCHASE = """
mutation($phone: String, $amount: BigInt!, $orderId: String!, $key: String!) {
  recordPurchase(phone: $phone, amount: $amount, currency: "CNY", orderId: $orderId,
                 idempotencyKey: $key) {
    award { externalId kind points reversed }
    replayed
    errors { field code }
  }
}
"""
REVERSE = """
mutation($id: String!, $kind: EarningAwardKind, $key: String!) {
  reverseAward(externalId: $id, kind: $kind, idempotencyKey: $key) {
    award { externalId points reversed }
    replayed
    errors { code }
  }
}
"""


def _funded(unique: Callable[[str], str], points: int = 10_000) -> tuple[Merchant, str]:
    """A committed, funded merchant and an earning key of its."""
    owner = User.objects.create_user(f"{unique('owner')}@earn.test", "pw-earning-1")
    merchant = create_merchant(slug=unique("earn"), name="Earn Co", owner=owner)
    points_services.fund_with_money(
        merchant,
        amount_minor=points,
        currency="CNY",
        rate="100",
        payment_reference=unique("pay"),
    )
    membership = Membership.objects.get(merchant=merchant, user=owner)
    _key, secret = apikeys.create(membership, "ERP", [ApiScope.EARNING_WRITE])
    return merchant, secret


def _award(api: Api, secret: str, **variables: Any) -> dict:
    variables.setdefault("reason", "Review written")
    variables.setdefault("points", 50)
    return api.query(AWARD, variables, token=secret)["data"]["awardPoints"]


@pytest.fixture
def earning(db: None, tenants: Tenants, unique: Callable[[str], str]) -> tuple[Merchant, str]:
    """acme, funded, and an earning key of its (rolled back after the test)."""
    points_services.fund_with_money(
        tenants.acme, amount_minor=10_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    membership = Membership.objects.get(merchant=tenants.acme, user=tenants.acme_owner)
    _key, secret = apikeys.create(membership, "ERP", [ApiScope.EARNING_WRITE])
    return tenants.acme, secret


def test_an_award_by_phone_pays_the_consumer_from_the_budget(
    merchant_api: Api, earning: tuple[Merchant, str], consumer: User, unique: Callable
) -> None:
    merchant, secret = earning
    before = balances.budget_of(merchant.pk).available
    paid = _award(merchant_api, secret, phone=consumer.phone, externalId="R-1", key=unique("k"))
    assert paid["errors"] == []
    assert paid["award"] == {
        "externalId": "R-1",
        "kind": "AWARD",
        "points": 50,
        "reason": "Review written",
        "reversed": False,
    }
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 50
    assert balances.budget_of(merchant.pk).available == before - 50
    txn = Award.objects.get(merchant=merchant).transaction
    assert txn.kind == TransactionKind.MERCHANT_AWARD


def test_an_award_by_consumer_id_reaches_only_that_merchants_consumer(
    merchant_api: Api, earning: tuple[Merchant, str], consumer: User, unique: Callable
) -> None:
    merchant, secret = earning
    ref = pseudonyms.consumer_ref(merchant.pk, consumer.pk)
    paid = _award(merchant_api, secret, consumerId=ref, externalId="R-2", key=unique("k"))
    assert paid["errors"] == []
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 50
    # The same consumer's id at another merchant names no one here.
    foreign = pseudonyms.consumer_ref(merchant.pk + 1, consumer.pk)
    assert foreign != ref
    refused = _award(merchant_api, secret, consumerId=foreign, externalId="R-3", key=unique("k"))
    assert refused["errors"] == [{"field": "consumerId", "code": "CONSUMER_NOT_FOUND"}]
    both = _award(
        merchant_api, secret, consumerId=ref, phone=consumer.phone, externalId="R-4", key="k4"
    )
    assert both["errors"][0]["code"] == "CONSUMER_REQUIRED"


def test_the_answer_is_the_same_whether_or_not_the_phone_is_registered(
    merchant_api: Api, earning: tuple[Merchant, str], consumer: User, new_phone: Callable
) -> None:
    merchant, secret = earning
    stranger = new_phone()
    budget = balances.budget_of(merchant.pk)
    known = _award(merchant_api, secret, phone=consumer.phone, externalId="S", key="k-known")
    middle = balances.budget_of(merchant.pk)
    unknown = _award(merchant_api, secret, phone=stranger, externalId="S2", key="k-unknown")
    after = balances.budget_of(merchant.pk)
    unknown["award"]["externalId"] = "S"
    assert known == unknown
    # The budget and the statement move alike: same debit, nothing reserved in view.
    assert budget.available - middle.available == middle.available - after.available == 50
    assert budget.reserved == middle.reserved == after.reserved
    statement = list(
        Transaction.objects.filter(merchant=merchant, kind=TransactionKind.MERCHANT_AWARD)
        .order_by("id")
        .values_list("entries__account__merchant_id", "entries__amount")
    )
    assert [row for row in statement if row[0] == merchant.pk] == [
        (merchant.pk, -50),
        (merchant.pk, -50),
    ]
    assert Award.objects.get(external_id="award:S2").status == AwardStatus.PENDING


def test_a_pending_award_is_credited_when_the_phone_signs_up(
    merchant_api: Api,
    consumer_api: Api,
    earning: tuple[Merchant, str],
    new_phone: Callable,
    django_capture_on_commit_callbacks: Any,
) -> None:
    merchant, secret = earning
    phone = new_phone()
    assert _award(merchant_api, secret, phone=phone, externalId="P", key="k-p")["errors"] == []
    with django_capture_on_commit_callbacks(execute=True):
        sent = consumer_api.query(
            "mutation($p: String!) { requestSignInCode(phone: $p) { errors { code } } }",
            {"p": phone},
        )
    assert sent["data"]["requestSignInCode"]["errors"] == []
    match = re.search(r"\b(\d{6})\b", MemorySmsBackend.outbox[-1].message)
    assert match
    with django_capture_on_commit_callbacks(execute=True):
        signed = consumer_api.query(
            "mutation($p: String!, $c: String!) { signInWithCode(phone: $p, code: $c) "
            "{ errors { code } } }",
            {"p": phone, "c": match.group(1)},
        )
    assert signed["data"]["signInWithCode"]["errors"] == []
    user = User.objects.get(phone=phone)
    assert ledger.balance_of(ledger.wallet(user.pk)) == 50
    award = Award.objects.get(merchant=merchant, external_id="award:P")
    assert (award.status, award.consumer_id) == (AwardStatus.CREDITED, user.pk)
    assert ledger.balance_of(ledger.award_hold(merchant.pk)) == 0
    # Crediting again (the sweep) moves nothing more.
    assert services.credit_pending(user) == 0


def test_a_pending_award_returns_to_the_budget_when_its_hold_ends(
    merchant_api: Api, earning: tuple[Merchant, str], new_phone: Callable
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    merchant, secret = earning
    before = balances.budget_of(merchant.pk).available
    _award(merchant_api, secret, phone=new_phone(), externalId="H", key="k-h")
    assert services.return_expired_holds() == 0
    later = timezone.now() + timedelta(days=31)
    assert services.return_expired_holds(later) == 1
    assert Award.objects.get(external_id="award:H").status == AwardStatus.RETURNED
    assert balances.budget_of(merchant.pk).available == before
    assert services.return_expired_holds(later) == 0


def test_a_purchase_earns_by_the_rule_and_stops_at_the_daily_cap(
    merchant_api: Api, earning: tuple[Merchant, str], consumer: User
) -> None:
    merchant, secret = earning
    EarningRule.objects.create(merchant=merchant, points_per_unit="1.5", daily_cap=100)
    first = merchant_api.query(
        PURCHASE,
        {"phone": consumer.phone, "amount": 1999, "orderId": "O-1", "key": "p1"},
        token=secret,
    )["data"]["recordPurchase"]
    # ¥19.99 x 1.5 = 29.985, rounded down.
    assert first["award"]["points"] == 29 and first["award"]["kind"] == "PURCHASE"
    capped = merchant_api.query(
        PURCHASE,
        {"phone": consumer.phone, "amount": 10_000, "orderId": "O-2", "key": "p2"},
        token=secret,
    )["data"]["recordPurchase"]
    assert capped["award"]["points"] == 71
    refused = merchant_api.query(
        PURCHASE,
        {"phone": consumer.phone, "amount": 10_000, "orderId": "O-3", "key": "p3"},
        token=secret,
    )["data"]["recordPurchase"]
    assert refused["errors"] == [{"field": None, "code": "DAILY_CAP_REACHED"}]
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 100
    # A purchase is reversed by its order id; a reversed purchase no longer counts.
    back = merchant_api.query(
        REVERSE, {"id": "O-1", "kind": "PURCHASE", "key": "rp1"}, token=secret
    )["data"]["reverseAward"]
    assert back["award"] == {"externalId": "O-1", "points": 29, "reversed": True}
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 71


def test_a_purchase_without_a_rule_is_refused(
    merchant_api: Api, earning: tuple[Merchant, str], consumer: User
) -> None:
    _merchant, secret = earning
    refused = merchant_api.query(
        PURCHASE,
        {"phone": consumer.phone, "amount": 100, "orderId": "O", "key": "p"},
        token=secret,
    )["data"]["recordPurchase"]
    assert refused["errors"] == [{"field": None, "code": "EARNING_RULE_MISSING"}]


def test_the_welcome_bonus_is_paid_once_with_the_first_award(
    merchant_api: Api, earning: tuple[Merchant, str], consumer: User
) -> None:
    merchant, secret = earning
    EarningRule.objects.create(merchant=merchant, welcome_bonus=200)
    _award(merchant_api, secret, phone=consumer.phone, externalId="W1", key="w1")
    _award(merchant_api, secret, phone=consumer.phone, externalId="W2", key="w2")
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 50 + 50 + 200
    assert Award.objects.filter(merchant=merchant, kind="welcome").count() == 1


def test_a_reused_key_or_external_id_for_another_request_is_a_conflict(
    merchant_api: Api, earning: tuple[Merchant, str], consumer: User
) -> None:
    _merchant, secret = earning
    _award(merchant_api, secret, phone=consumer.phone, externalId="C1", key="c1")
    again = _award(merchant_api, secret, phone=consumer.phone, externalId="C1", key="c2")
    assert again["replayed"] is True  # the same award under a new key: the first one
    other = _award(merchant_api, secret, phone=consumer.phone, externalId="C1", key="c3", points=7)
    assert other["errors"] == [{"field": "externalId", "code": "IDEMPOTENCY_CONFLICT"}]
    reused = _award(merchant_api, secret, phone=consumer.phone, externalId="C9", key="c1")
    assert reused["errors"] == [{"field": "idempotencyKey", "code": "IDEMPOTENCY_CONFLICT"}]
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 50


def test_a_reversal_takes_the_points_back_until_they_are_spent(
    merchant_api: Api, earning: tuple[Merchant, str], consumer: User
) -> None:
    merchant, secret = earning
    before = balances.budget_of(merchant.pk).available
    _award(merchant_api, secret, phone=consumer.phone, externalId="V1", key="v1")
    back = merchant_api.query(REVERSE, {"id": "V1", "key": "rv1"}, token=secret)
    assert back["data"]["reverseAward"]["award"]["reversed"] is True
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 0
    assert balances.budget_of(merchant.pk).available == before
    twice = merchant_api.query(REVERSE, {"id": "V1", "key": "rv1b"}, token=secret)
    assert twice["data"]["reverseAward"]["replayed"] is True

    _award(merchant_api, secret, phone=consumer.phone, externalId="V2", key="v2")
    points_services.spend(consumer, 30, idempotency_key=f"spend-{consumer.pk}")
    spent = merchant_api.query(REVERSE, {"id": "V2", "key": "rv2"}, token=secret)
    assert spent["data"]["reverseAward"]["errors"] == [{"code": "AWARD_SPENT"}]
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 20
    missing = merchant_api.query(REVERSE, {"id": "nope", "key": "rv3"}, token=secret)
    assert missing["data"]["reverseAward"]["errors"] == [{"code": "NOT_FOUND"}]


def test_a_pending_award_reversed_returns_its_hold(
    merchant_api: Api, earning: tuple[Merchant, str], new_phone: Callable
) -> None:
    merchant, secret = earning
    before = balances.budget_of(merchant.pk).available
    _award(merchant_api, secret, phone=new_phone(), externalId="PV", key="pv")
    back = merchant_api.query(REVERSE, {"id": "PV", "key": "rpv"}, token=secret)
    assert back["data"]["reverseAward"]["award"]["reversed"] is True
    assert balances.budget_of(merchant.pk).available == before
    assert ledger.balance_of(ledger.award_hold(merchant.pk)) == 0


def test_a_key_without_the_earning_scope_is_refused(
    merchant_api: Api, earning: tuple[Merchant, str], consumer: User
) -> None:
    merchant, _secret = earning
    owner = Membership.objects.get(merchant=merchant, role="owner")
    _key, reader = apikeys.create(owner, "Reader", [ApiScope.LEDGER_READ])
    refused = _award(merchant_api, reader, phone=consumer.phone, externalId="X", key="x")
    assert refused["errors"][0]["code"] == "SCOPE_MISSING"
    assert not Award.objects.filter(merchant=merchant).exists()


def test_an_award_is_audited_and_sends_its_event(
    merchant_api: Api, tenants: Tenants, earning: tuple[Merchant, str], consumer: User
) -> None:
    from tenants.models import AuditEvent
    from webhooks import services as webhook_services
    from webhooks.models import WebhookDelivery

    merchant, secret = earning
    webhook_services.create_endpoint(
        merchant, url="http://127.0.0.1:9/hook", event_types=["points.awarded"]
    )
    _award(merchant_api, secret, phone=consumer.phone, externalId="E1", key="e1")
    event = AuditEvent.objects.get(merchant=merchant, mutation="awardPoints")
    assert event.result == "ok"
    delivery = WebhookDelivery.objects.get(merchant=merchant, event_type="points.awarded")
    assert delivery.payload["data"]["award"]["externalId"] == "E1"
    assert delivery.payload["data"]["consumer"] == {"consumerRef": None, "phone": consumer.phone}


# --- Concurrency -------------------------------------------------------------------------


def test_twenty_concurrent_retries_award_once(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    """20 retries at once, half with the same key and half with new keys for the same
    externalId: one award, one posting, the budget debited once; every answer is the
    first award. (Planted failure: without the advisory lock and the replay re-check
    in ``services._make``, the concurrent inserts end in IntegrityError answers.)"""
    merchant, secret = _funded(unique)
    phone = User.objects.get_or_create_consumer(new_phone())[0].phone
    before = balances.budget_of(merchant.pk).available

    def retry(i: int) -> dict:
        api = Api(Client(), "/merchant/graphql/", "merchant")
        key = "same-key" if i % 2 == 0 else f"key-{i}"
        return _award(api, secret, phone=phone, externalId="ORDER-20", key=key)

    results = run_in_threads(20, retry)
    answers = [value for status, value in results if status == "ok"]
    assert len(answers) == 20, results
    assert all(a["errors"] == [] for a in answers), answers
    assert sorted(a["replayed"] for a in answers) == [False] + [True] * 19
    assert len({repr(a["award"]) for a in answers}) == 1
    assert Award.objects.filter(merchant=merchant).count() == 1
    assert (
        Transaction.objects.filter(merchant=merchant, kind=TransactionKind.MERCHANT_AWARD).count()
        == 1
    )
    assert balances.budget_of(merchant.pk).available == before - 50


# --- Birthdays ---------------------------------------------------------------------------

SET_BIRTHDAY = """
mutation($b: Date!) { setBirthday(birthday: $b) { birthday errors { field code } } }
"""


def test_a_birthday_is_given_once_and_pays_each_merchant_once_a_year(
    consumer_api: Api, earning: tuple[Merchant, str], consumer: User, new_phone: Callable
) -> None:
    from datetime import date

    from tests.fixtures.api import access_token

    merchant, secret = earning
    EarningRule.objects.create(merchant=merchant, birthday_bonus=88)
    token = access_token(consumer)
    given = consumer_api.query(SET_BIRTHDAY, {"b": "1990-02-28"}, token=token)
    assert given["data"]["setBirthday"] == {"birthday": "1990-02-28", "errors": []}
    moved = consumer_api.query(SET_BIRTHDAY, {"b": "1990-03-01"}, token=token)
    assert moved["data"]["setBirthday"]["errors"] == [
        {"field": "birthday", "code": "BIRTHDAY_ALREADY_SET"}
    ]
    future = consumer_api.query(SET_BIRTHDAY, {"b": "2999-01-01"}, token=token)
    assert future["data"]["setBirthday"]["errors"][0]["code"] in {
        "INVALID_BIRTHDAY",
        "BIRTHDAY_ALREADY_SET",
    }
    # Not a customer of this merchant yet: no bonus.
    assert services.award_birthday_bonuses(date(2027, 2, 28)) == 0
    _award(
        consumer_api_merchant(consumer_api), secret, phone=consumer.phone, externalId="B", key="b"
    )
    wallet_before = ledger.balance_of(ledger.wallet(consumer.pk))
    assert services.award_birthday_bonuses(date(2027, 2, 27)) == 0
    assert services.award_birthday_bonuses(date(2027, 2, 28)) == 1
    assert services.award_birthday_bonuses(date(2027, 2, 28)) == 0  # the hourly rerun
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == wallet_before + 88
    assert services.award_birthday_bonuses(date(2028, 2, 28)) == 1  # next year


def consumer_api_merchant(consumer_api: Api) -> Api:
    return Api(consumer_api.client, "/merchant/graphql/", "merchant")


def test_a_29_february_birthday_is_kept_on_the_28th_in_other_years() -> None:
    from datetime import date

    assert services._birthdays_on(date(2027, 2, 28)) != services._birthdays_on(date(2028, 2, 28))
    assert "29" in str(services._birthdays_on(date(2027, 2, 28)))
    assert "29" not in str(services._birthdays_on(date(2028, 2, 28)))


def test_merchant_awards_count_as_issued_in_the_liability_report(
    merchant_api: Api, earning: tuple[Merchant, str], consumer: User
) -> None:
    from points import liability

    _merchant, secret = earning
    before = sum(f.issued for f in liability._platform_flows().values())
    _award(merchant_api, secret, phone=consumer.phone, externalId="L1", key="l1")
    after = sum(f.issued for f in liability._platform_flows().values())
    assert after - before == 50


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("dailyCap", {"daily_cap": 0}),
        ("welcomeBonus", {"welcome_bonus": -1}),
        ("birthdayBonus", {"birthday_bonus": 1_000_001}),
        ("pendingDays", {"pending_days": 366}),
        ("pointsPerUnit", {"points_per_unit": "0.00001"}),
    ],
)
def test_a_rule_out_of_range_is_refused_at_its_field_and_nothing_is_saved(
    db: None, tenants: Tenants, field: str, values: dict[str, Any]
) -> None:
    # The console shows these at their field (INVALID_EARNING_RULE), not a server error.
    rule: dict[str, Any] = {
        "points_per_unit": "1",
        "rounding": "down",
        "daily_cap": None,
        "welcome_bonus": 0,
        "birthday_bonus": 0,
        "pending_days": 30,
    }
    with pytest.raises(services.EarningError) as refused:
        services.set_rule(tenants.acme, **{**rule, **values})
    assert (refused.value.code, refused.value.field) == ("INVALID_EARNING_RULE", field)
    assert not EarningRule.objects.filter(merchant=tenants.acme).exists()
    services.set_rule(tenants.acme, **{**rule, "daily_cap": 1, "pending_days": 365})
    assert EarningRule.objects.get(merchant=tenants.acme).daily_cap == 1
