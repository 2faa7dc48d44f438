"""Sign in with WeChat: the ticket traded through the consumer API, with consent.

Tickets come from the real code exchange with the fake WeChat (over HTTP), so each
test goes through WeChat's rules as the callback does.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core import signing
from django.core.cache import cache

from accounts import policies, wechat
from accounts.models import Consent, User, WeChatIdentity
from accounts.sms import MemorySmsBackend
from core.wechat import oauth
from devtools.fake_wechat import FakeWeChat
from devtools.fake_wechat import oauth as fake_oauth
from tests.fixtures.api import Api
from tests.fixtures.wechat import PLATFORM_APP_ID

pytestmark = pytest.mark.django_db

CALLBACK = "http://127.0.0.1:8000/wechat/callback"


def ticket_for(user: str) -> str:
    """What the callback hands the page for WeChat user ``user`` (a real code exchange)."""
    url = oauth.authorize_url(CALLBACK, "s0").split("#")[0]
    answer = requests.get(url, params={"user": user}, allow_redirects=False, timeout=5)
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    return wechat.issue_ticket(oauth.exchange_code(code))


def openid_of(user: str) -> str:
    return fake_oauth.openid(user, PLATFORM_APP_ID)


def sign_in(consumer_api: Api, ticket: str, accept: bool | None = None, **headers: str) -> dict:
    variables: dict[str, Any] = {"ticket": ticket}
    if accept is not None:
        variables["acceptPolicies"] = accept
    return consumer_api.op("SignInWithWeChat", variables, **headers)["data"]["signInWithWeChat"]


def codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def test_a_new_openid_needs_consent_then_gets_an_account_with_its_consent(
    fake_wechat: FakeWeChat, consumer_api: Api, settings: Any
) -> None:
    ticket = ticket_for("alice")
    refused = sign_in(consumer_api, ticket)
    assert codes(refused) == ["CONSENT_REQUIRED"]
    assert refused["errors"][0]["field"] == "acceptPolicies"
    assert refused["tokens"] is None
    assert not WeChatIdentity.objects.filter(openid=openid_of("alice")).exists()

    # Not used up by the refusal: the same ticket works once consent is given.
    done = sign_in(consumer_api, ticket, True, HTTP_USER_AGENT="Mozilla/5.0 MicroMessenger/8.0")
    assert done["errors"] == []
    assert done["consumer"]["phone"] is None
    identity = WeChatIdentity.objects.get(openid=openid_of("alice"))
    assert identity.app_id == settings.WECHAT_APP_ID
    user = identity.user
    assert user.is_consumer and not user.has_usable_password()
    rows = {c.document: c for c in Consent.objects.filter(user=user)}
    assert {d: c.version for d, c in rows.items()} == policies.CURRENT_VERSIONS
    assert set(rows) == {"terms", "privacy"}
    for row in rows.values():
        assert row.channel == Consent.Channel.WECHAT
        assert row.ip == "127.0.0.1"
        assert "MicroMessenger" in row.user_agent

    # The tokens are a consumer's: `me` answers, with no phone.
    me = consumer_api.op("Me", token=done["tokens"]["accessToken"])["data"]["me"]
    assert me["phone"] is None
    # And the ticket is now used up.
    assert codes(sign_in(consumer_api, ticket, True)) == ["WECHAT_TICKET_USED"]


def test_a_known_openid_signs_in_without_consent_and_the_ticket_works_once(
    fake_wechat: FakeWeChat, consumer_api: Api
) -> None:
    first = sign_in(consumer_api, ticket_for("bob"), True)
    assert first["errors"] == []
    ticket = ticket_for("bob")
    again = sign_in(consumer_api, ticket)
    assert again["errors"] == []
    assert again["consumer"]["id"] == first["consumer"]["id"]
    mine = User.objects.filter(wechat_identities__openid=openid_of("bob"))
    assert mine.count() == 1
    assert Consent.objects.filter(user__in=mine).count() == 2  # given once, at sign-up
    assert codes(sign_in(consumer_api, ticket)) == ["WECHAT_TICKET_USED"]


def test_consent_refused_creates_nothing(fake_wechat: FakeWeChat, consumer_api: Api) -> None:
    users = User.objects.count()
    assert codes(sign_in(consumer_api, ticket_for("carol"), False)) == ["CONSENT_REQUIRED"]
    assert User.objects.count() == users
    assert not WeChatIdentity.objects.filter(openid=openid_of("carol")).exists()


def test_a_forged_ticket_and_another_apps_ticket_are_refused(
    fake_wechat: FakeWeChat, consumer_api: Api
) -> None:
    ticket = ticket_for("dave")
    _payload, rest = ticket.split(":", 1)
    forged = signing.b64_encode(b'{"a":"x","o":"o-eve","u":"","n":"n"}').decode() + ":" + rest
    assert codes(sign_in(consumer_api, forged, True)) == ["WECHAT_TICKET_INVALID"]
    # Validly signed, but for a merchant's app: an OpenID there is not a sign-in.
    other = wechat.issue_ticket(oauth.OAuthResult("wxmerchant", "o-dave", "snsapi_base"))
    assert codes(sign_in(consumer_api, other, True)) == ["WECHAT_TICKET_INVALID"]
    assert not WeChatIdentity.objects.filter(openid__in=["o-eve", "o-dave"]).exists()


def test_a_disabled_consumer_is_refused(fake_wechat: FakeWeChat, consumer_api: Api) -> None:
    sign_in(consumer_api, ticket_for("frank"), True)
    User.objects.filter(wechat_identities__openid=openid_of("frank")).update(is_active=False)
    assert codes(sign_in(consumer_api, ticket_for("frank"))) == ["ACCOUNT_DISABLED"]


def test_sign_ins_are_rate_limited_per_address(
    fake_wechat: FakeWeChat, consumer_api: Api, settings: Any
) -> None:
    settings.WECHAT_SIGNINS_PER_IP_PER_HOUR = 2
    ticket = ticket_for("gina")
    assert codes(sign_in(consumer_api, ticket)) == ["CONSENT_REQUIRED"]
    assert codes(sign_in(consumer_api, ticket)) == ["CONSENT_REQUIRED"]
    assert codes(sign_in(consumer_api, ticket, True)) == ["RATE_LIMITED"]
    assert not WeChatIdentity.objects.filter(openid=openid_of("gina")).exists()
    # Another address is not held back.
    assert sign_in(consumer_api, ticket, True, REMOTE_ADDR="10.0.0.9")["errors"] == []


def test_a_wechat_consumer_is_a_consumer_without_a_phone(
    fake_wechat: FakeWeChat, consumer_api: Api
) -> None:
    done = sign_in(consumer_api, ticket_for("hana"), True)
    answer = consumer_api.op("Wallet", token=done["tokens"]["accessToken"])
    assert "errors" not in answer, answer
    assert int(answer["data"]["wallet"]["balance"]) == 0


def test_phone_sign_in_records_consent_on_the_first_sign_in_only(
    consumer_api: Api, django_capture_on_commit_callbacks: Any, new_phone: Any
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
    rows = list(Consent.objects.filter(user=user))
    assert {(c.document, c.version, c.channel) for c in rows} == {
        (document, version, "phone") for document, version in policies.CURRENT_VERSIONS.items()
    }
    MemorySmsBackend.outbox.clear()
    cache.clear()  # the resend interval
    assert sign_in_by_phone()["errors"] == []
    assert Consent.objects.filter(user=user).count() == 2
