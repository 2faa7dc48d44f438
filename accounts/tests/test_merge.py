"""One account, one wallet: binding a phone or WeChat, merging accounts (consumer API).

Real PostgreSQL and Redis; WeChat tickets come from a real OAuth exchange with the fake
WeChat over HTTP; the phone's code is the one the SMS backend captured.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.core import signing
from django_tenants.utils import tenant_context

from accounts import merge as merging
from accounts import policies
from accounts.models import AuthSession, Consent, User, WeChatIdentity
from accounts.sms import MemorySmsBackend
from accounts.wechat import issue_ticket
from campaigns.models import CampaignStatus, Claim, Code
from campaigns.scan.claims import claim_code
from campaigns.scan.generation import generate_batch
from campaigns.scan.services import create_batch, create_scan_campaign
from campaigns.services import set_status
from core.errors import DomainError
from core.wechat.oauth import exchange_code
from devtools.fake_wechat import FakeWeChat, oauth
from points import ledger, services
from points.audit import audit
from points.models import Lot, TransactionKind
from redemption.models import Order, ProductKind
from redemption.tests.helpers import earn, listed_product, new_address, new_category
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants
from tests.fixtures.wechat import PLATFORM_APP_ID

pytestmark = pytest.mark.django_db


# --- Helpers ---------------------------------------------------------------------------


def wechat_consumer(fake: FakeWeChat) -> tuple[User, str]:
    """A consumer who signed in with WeChat only (no phone), and their fake WeChat user."""
    person = uuid.uuid4().hex[:10]
    user = User.objects.create()
    WeChatIdentity.objects.create(
        user=user, app_id=PLATFORM_APP_ID, openid=oauth.openid(person, PLATFORM_APP_ID)
    )
    return user, person


def ticket_for(fake: FakeWeChat, person: str) -> str:
    """The `#wx=` ticket after a real OAuth round with the fake: code issued, exchanged."""
    code = oauth.issue_code(fake, PLATFORM_APP_ID, person, "snsapi_base")
    return issue_ticket(exchange_code(code))


def phone_code(consumer_api: Api, phone: str, capture: Any) -> str:
    with capture(execute=True):
        sent = consumer_api.op("RequestSignInCode", {"phone": phone})["data"]["requestSignInCode"]
    assert sent["errors"] == []
    match = re.search(r"\b(\d{6})\b", MemorySmsBackend.outbox[-1].message)
    assert match
    return match.group(1)


def bind_phone(consumer_api: Api, user: User, phone: str, capture: Any, **kw: Any) -> dict:
    code = phone_code(consumer_api, phone, capture)
    return consumer_api.op(
        "BindPhone", {"phone": phone, "code": code}, token=kw.get("token") or access_token(user)
    )["data"]["bindPhone"]


def codes(result: dict) -> list[str]:
    return [e["code"] for e in result["errors"]]


def balance(user: User) -> int:
    return ledger.balance_of(ledger.wallet(user.pk))


def refreshed(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.fixture
def acme(tenants: Tenants) -> Any:
    return tenants.acme


# --- bindPhone ---------------------------------------------------------------------------


def test_a_wechat_consumer_binds_a_free_phone(
    consumer_api: Api, fake_wechat: FakeWeChat, new_phone, django_capture_on_commit_callbacks
) -> None:
    user, _person = wechat_consumer(fake_wechat)
    token = access_token(user)
    assert consumer_api.op("Me", token=token)["data"]["me"]["phone"] is None
    phone = new_phone()

    result = bind_phone(consumer_api, user, phone, django_capture_on_commit_callbacks, token=token)

    assert result["errors"] == [] and result["tokens"] is None and result["merge"] is None
    assert result["consumer"] == {"id": result["consumer"]["id"], "phone": phone, "wechat": True}
    assert refreshed(user).phone == phone
    me = consumer_api.op("Me", token=token)["data"]["me"]
    assert (me["phone"], me["wechat"]) == (phone, True)


def test_a_wrong_code_binds_nothing(
    consumer_api: Api, fake_wechat: FakeWeChat, new_phone, django_capture_on_commit_callbacks
) -> None:
    user, _person = wechat_consumer(fake_wechat)
    phone = new_phone()
    code = phone_code(consumer_api, phone, django_capture_on_commit_callbacks)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    result = consumer_api.op(
        "BindPhone", {"phone": phone, "code": wrong}, token=access_token(user)
    )["data"]["bindPhone"]
    assert codes(result) == ["OTP_INVALID"]
    assert refreshed(user).phone is None


def test_the_phone_of_an_empty_account_is_merged_in_silently(
    consumer_api: Api, fake_wechat: FakeWeChat, acme, new_phone, django_capture_on_commit_callbacks
) -> None:
    phone = new_phone()
    empty, _ = User.objects.get_or_create_consumer(phone)
    empty_token = access_token(empty)
    user, _person = wechat_consumer(fake_wechat)
    earn(acme, user, 50)

    result = bind_phone(consumer_api, user, phone, django_capture_on_commit_callbacks)

    assert result["errors"] == [] and result["tokens"] is None
    assert refreshed(user).phone == phone and balance(user) == 50
    gone = refreshed(empty)
    assert (gone.is_active, gone.merged_into_id, gone.phone) == (False, user.pk, None)
    assert consumer_api.op("Me", token=empty_token, expect_status=401)["errors"]
    assert audit() == []


def test_an_empty_signed_in_account_joins_the_phones_account_with_new_tokens(
    consumer_api: Api, fake_wechat: FakeWeChat, acme, new_phone, django_capture_on_commit_callbacks
) -> None:
    phone = new_phone()
    owner, _ = User.objects.get_or_create_consumer(phone)
    earn(acme, owner, 70)
    user, _person = wechat_consumer(fake_wechat)
    old_token = access_token(user)

    result = bind_phone(
        consumer_api, user, phone, django_capture_on_commit_callbacks, token=old_token
    )

    assert result["errors"] == [] and result["tokens"]["accessToken"]
    me = consumer_api.op("Me", token=result["tokens"]["accessToken"])["data"]["me"]
    assert (me["phone"], me["wechat"]) == (phone, True)
    assert refreshed(user).merged_into_id == owner.pk
    assert WeChatIdentity.objects.get(app_id=PLATFORM_APP_ID, user=owner)
    revoked = consumer_api.op("Me", token=old_token, expect_status=401)
    assert revoked["errors"][0]["extensions"]["code"] == "SESSION_REVOKED"


def test_two_accounts_with_points_merge_only_when_confirmed_into_one_wallet(
    consumer_api: Api, fake_wechat: FakeWeChat, acme, new_phone, django_capture_on_commit_callbacks
) -> None:
    # The phone account (older) has points, an order and an address; the WeChat account
    # (newer) earned points and spent some.
    phone = new_phone()
    older, _ = User.objects.get_or_create_consumer(phone)
    earn(acme, older, 100)
    product = listed_product(new_category(), price=10, stock=5)
    from redemption import services as mall

    mall.redeem(older, product.pk, 1, idempotency_key="k1", address_id=new_address(older).pk)
    older_session = AuthSession.objects.get(pk=tokens_session(older))
    newer, _person = wechat_consumer(fake_wechat)
    earn(acme, newer, 40)
    spent = services.spend(newer, 15, idempotency_key=f"spend:{newer.pk}")
    newer_lot = Lot.objects.get(account=ledger.wallet(newer.pk))
    newer_token = access_token(newer)
    policies.record_consent(newer, Consent.Channel.WECHAT, "203.0.113.7", "WeChat")
    newer_consents = set(Consent.objects.filter(user=newer).values_list("pk", flat=True))

    asked = bind_phone(
        consumer_api, newer, phone, django_capture_on_commit_callbacks, token=newer_token
    )

    assert codes(asked) == ["ACCOUNT_MERGE_REQUIRED"]
    merge = asked["merge"]
    assert merge["otherHolds"] == {"points": 90, "orders": 1}
    assert merge["keepsSignedInAccount"] is False  # the older account stays
    assert merge["otherPhone"] == older.masked_phone
    # Nothing moved yet.
    assert (balance(older), balance(newer)) == (90, 25) and refreshed(newer).is_active

    done = consumer_api.op("ConfirmAccountMerge", {"token": merge["token"]}, token=newer_token)
    done = done["data"]["confirmAccountMerge"]

    assert done["errors"] == []
    assert done["consumer"]["phone"] == phone and done["consumer"]["wechat"] is True
    assert (balance(older), balance(newer)) == (115, 0)
    merged = refreshed(newer)
    assert (merged.is_active, merged.merged_into_id) == (False, older.pk)
    # The consents the merged account gave are the survivor's evidence now.
    assert newer_consents and not Consent.objects.filter(user=newer).exists()
    assert newer_consents <= set(Consent.objects.filter(user=older).values_list("pk", flat=True))
    # The merged wallet's lot moved whole: its merchant, source and expiry kept.
    moved = Lot.objects.get(pk=newer_lot.pk)
    assert moved.account_id == ledger.wallet(older.pk).pk and moved.consumer_id == older.pk
    assert (moved.merchant_id, moved.source_id, moved.expires_at, moved.remaining) == (
        newer_lot.merchant_id,
        newer_lot.source_id,
        newer_lot.expires_at,
        25,
    )
    transfer = ledger.wallet(older.pk).entries.get(transaction__kind=TransactionKind.MERGE)
    assert transfer.amount == 25
    assert ledger.wallet(newer.pk).merged_into_id == ledger.wallet(older.pk).pk
    # The merged account is signed out; the survivor's own session still works.
    revoked = consumer_api.op("Me", token=newer_token, expect_status=401)
    assert revoked["errors"][0]["extensions"]["code"] == "SESSION_REVOKED"
    assert AuthSession.objects.get(pk=older_session.pk).revoked_at is None
    me = consumer_api.op("Me", token=done["tokens"]["accessToken"])["data"]["me"]
    assert (me["phone"], me["wechat"]) == (phone, True)
    # A reversal of the merged account's old spend lands in the survivor's wallet.
    services.reverse(spent, idempotency_key=f"undo:{newer.pk}")
    assert (balance(older), balance(newer)) == (130, 0)
    assert Lot.objects.get(pk=newer_lot.pk).remaining == 40
    # A second confirmation finds nothing left to merge.
    again = consumer_api.op(
        "ConfirmAccountMerge", {"token": merge["token"]}, token=done["tokens"]["accessToken"]
    )["data"]["confirmAccountMerge"]
    assert codes(again) == ["MERGE_TOKEN_INVALID"]
    assert audit() == []


def tokens_session(user: User) -> int:
    from accounts import tokens

    pair = tokens.issue(user)
    return int(tokens._payload(pair.access_token)["sid"])


def test_forged_foreign_and_expired_merge_tokens_are_refused(
    consumer_api: Api,
    fake_wechat: FakeWeChat,
    acme,
    new_phone,
    django_capture_on_commit_callbacks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    phone = new_phone()
    older, _ = User.objects.get_or_create_consumer(phone)
    earn(acme, older, 10)
    newer, _person = wechat_consumer(fake_wechat)
    earn(acme, newer, 10)
    token = access_token(newer)
    merge = bind_phone(consumer_api, newer, phone, django_capture_on_commit_callbacks, token=token)
    merge_token = merge["merge"]["token"]

    def confirm(value: str, bearer: str = token) -> list[str]:
        result = consumer_api.op("ConfirmAccountMerge", {"token": value}, token=bearer)
        return codes(result["data"]["confirmAccountMerge"])

    forged = signing.dumps({"c": newer.pk, "s": newer.pk, "m": older.pk}, salt="wrong salt")
    assert confirm(forged) == ["MERGE_TOKEN_INVALID"]
    assert confirm(merge_token[:-2] + "xx") == ["MERGE_TOKEN_INVALID"]
    # Given to the WeChat account: a third account cannot use it.
    stranger, _ = User.objects.get_or_create_consumer(new_phone())
    assert confirm(merge_token, access_token(stranger)) == ["MERGE_TOKEN_INVALID"]
    monkeypatch.setattr(merging, "MERGE_TOKEN_SECONDS", -1)
    assert confirm(merge_token) == ["MERGE_TOKEN_EXPIRED"]
    assert refreshed(newer).is_active and refreshed(older).is_active
    assert (balance(older), balance(newer)) == (10, 10)


def test_accounts_with_different_phones_are_not_merged(
    consumer_api: Api, fake_wechat: FakeWeChat, acme, new_phone
) -> None:
    a, _ = User.objects.get_or_create_consumer(new_phone())
    b, _ = User.objects.get_or_create_consumer(new_phone())
    with pytest.raises(DomainError) as refused:
        merging.merge(a.pk, b.pk)
    assert refused.value.code == "ACCOUNTS_CANNOT_MERGE"


# --- bindWeChat ------------------------------------------------------------------------


def test_a_phone_consumer_binds_a_free_wechat_user_once(
    consumer_api: Api, fake_wechat: FakeWeChat, consumer: User
) -> None:
    ticket = ticket_for(fake_wechat, "person-free")
    token = access_token(consumer)
    result = consumer_api.op("BindWeChat", {"ticket": ticket}, token=token)["data"]["bindWeChat"]
    assert result["errors"] == [] and result["consumer"]["wechat"] is True
    identity = WeChatIdentity.objects.get(user=consumer)
    assert identity.openid == oauth.openid("person-free", PLATFORM_APP_ID)
    again = consumer_api.op("BindWeChat", {"ticket": ticket}, token=token)["data"]["bindWeChat"]
    assert codes(again) == ["WECHAT_TICKET_USED"]
    other = consumer_api.op(
        "BindWeChat", {"ticket": ticket_for(fake_wechat, "person-other")}, token=token
    )["data"]["bindWeChat"]
    assert codes(other) == ["WECHAT_ALREADY_BOUND"]


def test_a_phone_consumer_binding_a_wechat_account_with_points_merges_after_confirming(
    consumer_api: Api, fake_wechat: FakeWeChat, acme, consumer: User
) -> None:
    earn(acme, consumer, 20)
    wechat_user, person = wechat_consumer(fake_wechat)
    earn(acme, wechat_user, 30)
    token = access_token(consumer)

    asked = consumer_api.op("BindWeChat", {"ticket": ticket_for(fake_wechat, person)}, token=token)
    asked = asked["data"]["bindWeChat"]
    assert codes(asked) == ["ACCOUNT_MERGE_REQUIRED"]
    assert asked["merge"]["otherHolds"] == {"points": 30, "orders": 0}
    assert asked["merge"]["keepsSignedInAccount"] is True  # the phone account is older

    done = consumer_api.op("ConfirmAccountMerge", {"token": asked["merge"]["token"]}, token=token)
    done = done["data"]["confirmAccountMerge"]
    assert done["errors"] == [] and done["tokens"] is None
    assert done["consumer"]["wechat"] is True
    assert (balance(consumer), balance(wechat_user)) == (50, 0)
    assert WeChatIdentity.objects.get(app_id=PLATFORM_APP_ID, user=consumer).openid == (
        oauth.openid(person, PLATFORM_APP_ID)
    )
    assert audit() == []


# --- Points, history and goods around a merge -------------------------------------------


def test_a_merged_wallet_takes_no_more_points_and_history_follows_the_survivor(
    fake_wechat: FakeWeChat, acme, consumer: User, unique
) -> None:
    services.fund_with_money(
        acme, amount_minor=10_000, currency="CNY", rate="100", payment_reference=unique("pay")
    )
    with tenant_context(acme):
        campaign = create_scan_campaign(name="Once per person", max_claims_per_consumer=1)
        set_status(acme, campaign, CampaignStatus.ACTIVE)
        batch = generate_batch(
            create_batch(acme, campaign, size=3, points_per_code=5).pk, chunk_size=3
        )
        found = list(Code.objects.filter(batch=batch).order_by("serial"))
    merged_user, _person = wechat_consumer(fake_wechat)
    claim_code(merged_user, found[0].code, unique("claim"))

    survivor = merging.merge(consumer.pk, merged_user.pk)

    assert survivor.pk == consumer.pk and balance(consumer) == 5
    with tenant_context(acme):
        claim = Claim.objects.get(code_id=found[0].code)
        assert claim.consumer_id == consumer.pk
        assert Code.objects.get(pk=found[0].code).claimed_by_id == consumer.pk
    # Earn once: the person already earned in this campaign, through the merged account.
    with pytest.raises(DomainError) as once:
        claim_code(consumer, found[1].code, unique("claim"))
    assert once.value.code == "CAMPAIGN_LIMIT_REACHED"
    # A posting that still names the merged account (a claim that waited on the merge)
    # is refused: nothing is stranded in the closed wallet.
    ref = unique("campaign")
    services.reserve(acme, ref, 5, idempotency_key=unique("reserve"))
    with pytest.raises(DomainError) as closed:
        services.award(acme, ref, merged_user, 5, idempotency_key=unique("award"))
    assert closed.value.code == "ACCOUNT_MERGED"
    assert balance(merged_user) == 0
    assert audit() == []


def test_goods_that_ship_need_a_phone_and_can_be_redeemed_once_one_is_bound(
    consumer_api: Api, fake_wechat: FakeWeChat, acme, new_phone, django_capture_on_commit_callbacks
) -> None:
    user, _person = wechat_consumer(fake_wechat)
    earn(acme, user, 100)
    goods = listed_product(new_category(), price=30, stock=3)
    coupon = listed_product(new_category(), price=30, stock=0, kind=ProductKind.COUPON)
    address = new_address(user)
    token = access_token(user)

    def redeem(product_id: int, key: str) -> dict:
        variables = {
            "productId": gid("Product", product_id),
            "quantity": 1,
            "addressId": gid("Address", address.pk),
            "idempotencyKey": key,
        }
        return consumer_api.op("Redeem", variables, token=token)["data"]["redeem"]

    refused = redeem(goods.pk, "r1")
    assert codes(refused) == ["PHONE_REQUIRED"]
    assert refused["errors"][0]["field"] == "productId"
    assert Order.objects.filter(consumer=user).count() == 0 and balance(user) == 100
    # Coupons do not ship: no phone needed (this one is sold out, which says so).
    assert codes(redeem(coupon.pk, "r2")) == ["OUT_OF_STOCK"]

    bound = bind_phone(consumer_api, user, new_phone(), django_capture_on_commit_callbacks)
    assert bound["errors"] == []
    done = redeem(goods.pk, "r3")
    assert done["errors"] == [] and done["balance"] == 70


def gid(type_name: str, pk: int) -> str:
    from graphql_relay import to_global_id

    return to_global_id(type_name, pk)
