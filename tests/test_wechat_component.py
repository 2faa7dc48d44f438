"""Our third-party platform against the fake WeChat, over HTTP both ways.

WeChat's pushes (verify ticket, authorisation events) reach this Django through
``django_http``; the authorisation page, the token endpoints and OAuth on a merchant's
behalf are the fake's. Data is committed (the pushes are applied on the server's own
connections), so each test uses a merchant of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.cache import cache

from accounts.models import User, WeChatIdentity
from core.errors import DomainError
from core.wechat import WeChatError
from core.wechat import component as wechat
from devtools.fake_wechat import FakeError, FakeWeChat
from devtools.fake_wechat import component as fake_component
from tenants import wechat as official_accounts
from tenants.error_codes import OfficialAccountErrorCode as Code
from tenants.models import (
    AuditEvent,
    ComponentVerifyTicket,
    Membership,
    Merchant,
    OfficialAccount,
    Role,
)
from tenants.onboarding import create_merchant
from tests.fixtures.api import Api, access_token
from tests.fixtures.concurrency import at_once
from tests.fixtures.tenants import staff_user
from tests.fixtures.wechat import COMPONENT_APP_ID

pytestmark = pytest.mark.usefixtures("committed_db")


# --- WeChat's documented vectors (消息加解密 example) ---------------------------------

DOC_TOKEN = "spamtest"
DOC_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
DOC_APP_ID = "wx2c2769f8efd9abc2"
DOC_TIMESTAMP = "1409735669"
DOC_NONCE = "1320562132"
DOC_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
DOC_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6"
    "F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T33"
    "2jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCg"
    "avjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6Oewp"
    "usjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
DOC_BODY = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
    f"<Encrypt><![CDATA[{DOC_ENCRYPT}]]></Encrypt></xml>"
).encode()


@pytest.fixture
def doc_settings(settings: Any) -> Any:
    settings.WECHAT_COMPONENT_TOKEN = DOC_TOKEN
    settings.WECHAT_COMPONENT_AES_KEY = DOC_AES_KEY
    settings.WECHAT_COMPONENT_APP_ID = DOC_APP_ID
    return settings


def test_the_documented_message_decrypts_with_the_documented_signature(doc_settings: Any) -> None:
    fields = wechat.decrypt(DOC_BODY, DOC_MSG_SIGNATURE, DOC_TIMESTAMP, DOC_NONCE)
    assert fields["ToUserName"] == "gh_10f6c3c3ac5a"
    assert fields["FromUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert fields["MsgType"] == "text"
    assert fields["Content"] == "abcdteT"


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "0" * 40},
        {"timestamp": "1409735670"},
        {"nonce": "1320562133"},
        {"app_id": "wx0000000000000000"},
        {"body": DOC_BODY.replace(b"hyzAe4", b"hyzAe5")},
    ],
)
def test_a_changed_signature_input_or_app_id_is_refused(
    doc_settings: Any, change: dict[str, Any]
) -> None:
    if "app_id" in change:
        doc_settings.WECHAT_COMPONENT_APP_ID = change["app_id"]
    with pytest.raises(wechat.PushRefused):
        wechat.decrypt(
            change.get("body", DOC_BODY),
            change.get("signature", DOC_MSG_SIGNATURE),
            change.get("timestamp", DOC_TIMESTAMP),
            change.get("nonce", DOC_NONCE),
        )


# --- Helpers --------------------------------------------------------------------------


def fresh_merchant(unique: Callable[[str], str]) -> tuple[Merchant, Membership]:
    owner = staff_user(f"{unique('owner')}@wx.test")
    merchant = create_merchant(slug=unique("wx"), name="WeChat Tea", owner=owner)
    return merchant, Membership.objects.get(merchant=merchant, user=owner)


def register_account(fake: FakeWeChat, unique: Callable[[str], str], **details: Any) -> str:
    app_id = "wx" + unique("acct").replace("-", "")[:16]
    fake.register_app(
        app_id, "never-given-to-us", name=details.pop("name", "茶饮服务号"), **details
    )
    return app_id


def merchant_confirms(url: str, app_id: str) -> dict[str, str]:
    """The merchant's administrator on WeChat's page: scan and confirm ``app_id``.

    Returns the query WeChat sends the browser back with (``state``, ``auth_code``).
    """
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    assert app_id in page.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    confirmed = requests.post(
        urlsplit(url)._replace(path="/cgi-bin/componentloginpage/confirm", query="").geturl(),
        data={
            "authorizer": app_id,
            "pre_auth_code": query["pre_auth_code"],
            "redirect_uri": query["redirect_uri"],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert confirmed.status_code == 302, confirmed.text
    back = confirmed.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}


def authorised(fake: FakeWeChat, membership: Membership, app_id: str) -> OfficialAccount:
    fake_component.push_verify_ticket(fake)
    back = merchant_confirms(official_accounts.authorisation_url(membership), app_id)
    return official_accounts.complete_authorisation(membership, back["state"], back["auth_code"])


def calls(fake: FakeWeChat, path: str) -> int:
    return sum(1 for call in fake.calls if call[1] == path)


# --- The verify ticket and the component token -------------------------------------


def test_a_pushed_ticket_is_kept_and_gives_the_component_token(
    wechat_component: FakeWeChat,
) -> None:
    ComponentVerifyTicket.objects.filter(component_app_id=COMPONENT_APP_ID).delete()
    with pytest.raises(WeChatError) as none_yet:
        official_accounts.component_access_token()
    assert none_yet.value.errcode == 61006
    ticket, sent = fake_component.push_verify_ticket(wechat_component)
    assert (sent.status, sent.answer) == (200, "success")
    assert ComponentVerifyTicket.objects.get(component_app_id=COMPONENT_APP_ID).ticket == ticket
    # Durable: a cache flush does not lose it.
    cache.clear()
    token = official_accounts.component_access_token()
    assert wechat_component.check_token(token, "component_access_token")
    assert official_accounts.component_access_token() == token
    assert calls(wechat_component, "cgi-bin/component/api_component_token") == 1


def test_the_fake_refuses_a_stale_ticket_a_wrong_secret_and_a_caller_off_the_whitelist(
    wechat_component: FakeWeChat, settings: Any
) -> None:
    ticket, _sent = fake_component.push_verify_ticket(wechat_component)
    with pytest.raises(WeChatError) as unknown:
        wechat.fetch_component_token("ticket@@@forged")
    assert unknown.value.errcode == 61006
    wechat_component.advance(12 * 3600)
    with pytest.raises(WeChatError) as stale:
        wechat.fetch_component_token(ticket)
    assert stale.value.errcode == 61006
    ticket, _sent = fake_component.push_verify_ticket(wechat_component)
    settings.WECHAT_COMPONENT_APP_SECRET = "not-the-secret"
    with pytest.raises(WeChatError) as wrong:
        wechat.fetch_component_token(ticket)
    assert wrong.value.errcode == 61005
    settings.WECHAT_COMPONENT_APP_SECRET = wechat_component.area("component")["component"].secret
    fake_component.set_whitelist(wechat_component, {"10.0.0.1"})
    with pytest.raises(WeChatError) as off_list:
        wechat.fetch_component_token(ticket)
    assert off_list.value.errcode == WeChatError.IP_NOT_WHITELISTED


def test_a_push_not_signed_with_our_token_is_refused(
    wechat_component: FakeWeChat, settings: Any
) -> None:
    ComponentVerifyTicket.objects.filter(component_app_id=COMPONENT_APP_ID).delete()
    wechat_component.area("component")["component"].token = "someone-elses-token"
    _ticket, sent = fake_component.push_verify_ticket(wechat_component)
    assert sent.status == 403
    assert not ComponentVerifyTicket.objects.filter(component_app_id=COMPONENT_APP_ID).exists()


def test_a_retried_push_is_applied_once(
    wechat_component: FakeWeChat, unique: Callable[[str], str]
) -> None:
    _merchant, membership = fresh_merchant(unique)
    app_id = register_account(wechat_component, unique)
    account = authorised(wechat_component, membership, app_id)
    sent = fake_component.unauthorize(wechat_component, app_id)
    account.refresh_from_db()
    assert not account.is_authorized
    first_cancelled = account.unauthorized_at
    # The merchant authorises again; then WeChat retries the old ``unauthorized`` push
    # (same bytes): it must not cancel the new authorisation.
    account = authorised(wechat_component, membership, app_id)
    assert account.is_authorized
    again = fake_component.deliver(sent)
    assert (again.status, again.answer) == (200, "success")
    account.refresh_from_db()
    assert account.is_authorized
    assert first_cancelled is not None


# --- Authorisation -----------------------------------------------------------------


def test_a_merchant_authorises_its_account_end_to_end(
    wechat_component: FakeWeChat, unique: Callable[[str], str]
) -> None:
    merchant, membership = fresh_merchant(unique)
    app_id = register_account(wechat_component, unique, name="茶饮服务号")
    fake_component.push_verify_ticket(wechat_component)
    url = official_accounts.authorisation_url(membership)
    assert url.startswith(wechat_component.url + "/cgi-bin/componentloginpage?")
    assert f"component_appid={COMPONENT_APP_ID}" in url
    back = merchant_confirms(url, app_id)
    # The ``authorized`` push arrived first (the fake pushes before redirecting) and was
    # applied; the console's return with the same single-use code then finds it done.
    account = official_accounts.complete_authorisation(membership, back["state"], back["auth_code"])
    assert account.merchant_id == merchant.pk
    assert account.app_id == app_id
    assert account.name == "茶饮服务号"
    assert account.is_service_account and account.is_verified
    assert account.can_use_service_apis
    assert account.refresh_token.startswith("refreshtoken@@@")
    # We never asked for the account's secret.
    assert all("never-given-to-us" not in str(call) for call in wechat_component.calls)
    assert calls(wechat_component, "cgi-bin/component/api_query_auth") == 1


def test_the_console_exchanges_the_code_when_no_push_came(
    wechat_component: FakeWeChat, unique: Callable[[str], str]
) -> None:
    merchant, membership = fresh_merchant(unique)
    app_id = register_account(wechat_component, unique)
    fake_component.push_verify_ticket(wechat_component)
    # WeChat's ``authorized`` push does not reach us (it will retry later).
    wechat_component.area("component")["component"].message_url = "http://127.0.0.1:9/gone"
    back = merchant_confirms(official_accounts.authorisation_url(membership), app_id)
    account = official_accounts.complete_authorisation(membership, back["state"], back["auth_code"])
    assert account.app_id == app_id and account.merchant_id == merchant.pk


def test_a_replayed_return_or_code_and_another_merchants_state_are_refused(
    wechat_component: FakeWeChat, unique: Callable[[str], str]
) -> None:
    _merchant, membership = fresh_merchant(unique)
    _other, other_membership = fresh_merchant(unique)
    app_id = register_account(wechat_component, unique)
    fake_component.push_verify_ticket(wechat_component)
    back = merchant_confirms(official_accounts.authorisation_url(membership), app_id)
    official_accounts.complete_authorisation(membership, back["state"], back["auth_code"])
    for who, state in (
        (membership, back["state"]),  # the same return, replayed
        (other_membership, back["state"]),  # another merchant's staff with this state
        (membership, back["state"][:-2] + "xx"),  # forged
    ):
        with pytest.raises(DomainError) as refused:
            official_accounts.complete_authorisation(who, state, back["auth_code"])
        assert refused.value.code == Code.OFFICIAL_ACCOUNT_AUTHORIZATION_INVALID
    # The used code with a fresh state: WeChat refuses it, and so do we.
    fresh = merchant_confirms(official_accounts.authorisation_url(membership), app_id)
    with pytest.raises(DomainError) as replayed:
        official_accounts.complete_authorisation(membership, fresh["state"], back["auth_code"])
    assert replayed.value.code == Code.OFFICIAL_ACCOUNT_AUTHORIZATION_INVALID
    with pytest.raises(WeChatError) as used:
        official_accounts.component_call(lambda token: wechat.query_auth(token, back["auth_code"]))
    assert used.value.errcode in (61009, 61010)
    # A used state with a fresh, unused code (the push of which was lost): refused too.
    wechat_component.area("component")["component"].message_url = "http://127.0.0.1:9/gone"
    unused = merchant_confirms(official_accounts.authorisation_url(membership), app_id)
    with pytest.raises(DomainError) as used_state:
        official_accounts.complete_authorisation(membership, back["state"], unused["auth_code"])
    assert used_state.value.code == Code.OFFICIAL_ACCOUNT_AUTHORIZATION_INVALID


def test_unauthorized_and_updateauthorized_pushes_are_applied(
    wechat_component: FakeWeChat, unique: Callable[[str], str]
) -> None:
    _merchant, membership = fresh_merchant(unique)
    app_id = register_account(wechat_component, unique, name="旧名字")
    account = authorised(wechat_component, membership, app_id)
    token = official_accounts.authorizer_access_token(app_id)
    fake_component.unauthorize(wechat_component, app_id)
    account.refresh_from_db()
    assert not account.is_authorized and account.unauthorized_at is not None
    assert not account.can_use_service_apis
    with pytest.raises(DomainError) as gone:
        official_accounts.create_qrcode(account.merchant, "scene-1")
    assert gone.value.code == Code.OFFICIAL_ACCOUNT_NOT_AUTHORIZED
    with pytest.raises(FakeError):
        wechat_component.check_token(token, "authorizer_access_token")
    # Authorised again, then the account changes (renamed): ``updateauthorized``.
    authorised(wechat_component, membership, app_id)
    wechat_component.app(app_id).name = "新名字"
    fake_component.push_verify_ticket(wechat_component)
    url = official_accounts.authorisation_url(membership)
    pre_auth = parse_qs(urlsplit(url).query)["pre_auth_code"][0]
    # The administrator confirms again (the page's button), and never comes back to the
    # console: the push alone updates the account.
    fake_component.authorise(wechat_component, app_id, pre_auth)
    assert wechat_component.area("component")["pushes"][-1].answer == "success"
    account.refresh_from_db()
    assert account.is_authorized and account.name == "新名字"


# --- Authoriser tokens --------------------------------------------------------------


def test_the_authoriser_token_is_refreshed_by_one_thread_and_once_on_40001(
    wechat_component: FakeWeChat, unique: Callable[[str], str]
) -> None:
    _merchant, membership = fresh_merchant(unique)
    app_id = register_account(wechat_component, unique)
    authorised(wechat_component, membership, app_id)
    cache.delete("wechat:token:" + wechat.authorizer_token_name(app_id))
    seen = at_once(6, lambda: official_accounts.authorizer_access_token(app_id))
    assert len(set(seen)) == 1
    assert calls(wechat_component, "cgi-bin/component/api_authorizer_token") == 1
    # Someone else refreshes: ours dies (40001); the call refreshes once and succeeds.
    wechat_component.issue_token("authorizer_access_token", app_id)
    ticket = official_accounts.create_qrcode(
        Merchant.objects.get(pk=membership.merchant_id), "scene-2"
    )
    assert ticket.startswith("gQ")
    assert calls(wechat_component, "cgi-bin/component/api_authorizer_token") == 2
    assert calls(wechat_component, "cgi-bin/qrcode/create") == 2


def test_a_subscription_account_gets_48001_said_plainly(
    wechat_component: FakeWeChat, unique: Callable[[str], str]
) -> None:
    _merchant, membership = fresh_merchant(unique)
    app_id = register_account(wechat_component, unique, kind="subscription", verified=False)
    account = authorised(wechat_component, membership, app_id)
    assert not account.is_service_account and not account.is_verified
    assert not account.can_use_service_apis
    with pytest.raises(DomainError) as refused:
        official_accounts.create_qrcode(account.merchant, "scene-3")
    assert refused.value.code == Code.OFFICIAL_ACCOUNT_NOT_VERIFIED_SERVICE
    assert "48001" in refused.value.message


def test_an_unconfigured_platform_says_so(settings: Any, unique: Callable[[str], str]) -> None:
    settings.WECHAT_COMPONENT_APP_ID = ""
    _merchant, membership = fresh_merchant(unique)
    with pytest.raises(DomainError) as refused:
        official_accounts.authorisation_url(membership)
    assert refused.value.code == Code.OFFICIAL_ACCOUNT_PLATFORM_NOT_CONFIGURED


# --- A consumer's OpenID under the merchant's app -----------------------------------


def consumer_returns(url: str) -> dict[str, str]:
    """The consumer's WeChat browser follows the OAuth URL: where it is sent back."""
    answer = requests.get(url.split("#")[0], allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    return {"path": urlsplit(location).path} | {
        k: v[0] for k, v in parse_qs(urlsplit(location).query).items()
    }


def test_a_consumers_openid_under_the_merchants_app(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    merchant, membership = fresh_merchant(unique)
    app_id = register_account(wechat_component, unique)
    authorised(wechat_component, membership, app_id)
    consumer, _created = User.objects.get_or_create_consumer(new_phone())
    fake_component.set_person(wechat_component, unique("person"))
    url = official_accounts.merchant_openid_url(consumer, merchant, "/s/ABC")
    assert f"appid={app_id}" in url and f"component_appid={COMPONENT_APP_ID}" in url
    assert "scope=snsapi_base" in url
    back = consumer_returns(url)
    assert back["path"] == "/wechat/merchant-openid"
    identity, next_path = official_accounts.link_merchant_openid(
        consumer, back["state"], back["code"]
    )
    assert next_path == "/s/ABC"
    assert identity.app_id == app_id
    assert identity.openid == fake_component.openid(
        app_id, wechat_component.area("component")["person"]
    )
    assert WeChatIdentity.objects.filter(user=consumer, app_id=app_id).count() == 1


def test_a_replayed_code_a_forged_state_and_another_consumers_state_are_refused(
    wechat_component: FakeWeChat, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    merchant, membership = fresh_merchant(unique)
    app_id = register_account(wechat_component, unique)
    authorised(wechat_component, membership, app_id)
    consumer, _ = User.objects.get_or_create_consumer(new_phone())
    intruder, _ = User.objects.get_or_create_consumer(new_phone())
    fake_component.set_person(wechat_component, unique("person"))

    # Another consumer's state (an attacker sends their link): refused, nothing stored.
    back = consumer_returns(official_accounts.merchant_openid_url(intruder, merchant))
    with pytest.raises(DomainError) as theirs:
        official_accounts.link_merchant_openid(consumer, back["state"], back["code"])
    assert theirs.value.code == Code.OFFICIAL_ACCOUNT_OAUTH_INVALID
    # A forged state.
    back = consumer_returns(official_accounts.merchant_openid_url(consumer, merchant))
    with pytest.raises(DomainError) as forged:
        official_accounts.link_merchant_openid(consumer, back["state"] + "x", back["code"])
    assert forged.value.code == Code.OFFICIAL_ACCOUNT_OAUTH_INVALID
    # The real one works once; the same return again is refused.
    official_accounts.link_merchant_openid(consumer, back["state"], back["code"])
    with pytest.raises(DomainError) as again:
        official_accounts.link_merchant_openid(consumer, back["state"], back["code"])
    assert again.value.code == Code.OFFICIAL_ACCOUNT_OAUTH_INVALID
    # A used code with a fresh state: WeChat answers 40163, we refuse.
    fresh = consumer_returns(official_accounts.merchant_openid_url(consumer, merchant))
    with pytest.raises(DomainError) as replayed:
        official_accounts.link_merchant_openid(consumer, fresh["state"], back["code"])
    assert replayed.value.code == Code.OFFICIAL_ACCOUNT_OAUTH_INVALID
    with pytest.raises(WeChatError) as used:
        official_accounts.component_call(
            lambda token: wechat.oauth_openid(token, app_id, back["code"])
        )
    assert used.value.errcode == WeChatError.CODE_USED
    # A used state with a fresh code: the state is single-use on our side too.
    with pytest.raises(DomainError) as used_state:
        official_accounts.link_merchant_openid(consumer, back["state"], fresh["code"])
    assert used_state.value.code == Code.OFFICIAL_ACCOUNT_OAUTH_INVALID
    assert not WeChatIdentity.objects.filter(user=intruder).exists()


def test_the_fake_sends_oauth_only_to_the_platforms_domain(
    wechat_component: FakeWeChat, unique: Callable[[str], str]
) -> None:
    _merchant, membership = fresh_merchant(unique)
    app_id = register_account(wechat_component, unique)
    authorised(wechat_component, membership, app_id)
    url = wechat.oauth_url(app_id, "http://evil.example/steal", "s")
    answer = requests.get(url.split("#")[0], allow_redirects=False, timeout=10)
    assert answer.status_code == 200 and answer.json()["errcode"] == 10003


# --- Through the APIs ------------------------------------------------------------


def test_the_merchant_api_authorises_and_shows_the_account(
    wechat_component: FakeWeChat, unique: Callable[[str], str], merchant_api: Api
) -> None:
    merchant, membership = fresh_merchant(unique)
    owner = access_token(membership.user)
    viewer = staff_user(f"{unique('viewer')}@wx.test")
    Membership.objects.create(merchant=merchant, user=viewer, role=Role.VIEWER)
    app_id = register_account(wechat_component, unique, kind="subscription", name="茶饮订阅号")
    fake_component.push_verify_ticket(wechat_component)

    shown = merchant_api.op("OfficialAccount", token=owner, merchant=merchant.slug)["data"]
    assert shown == {"officialAccountPlatformEnabled": True, "officialAccount": None}
    refused = merchant_api.op(
        "OfficialAccountAuthorizeStart", token=access_token(viewer), merchant=merchant.slug
    )["data"]["officialAccountAuthorizeStart"]
    assert refused["errors"][0]["code"] == "PERMISSION_DENIED"

    started = merchant_api.op("OfficialAccountAuthorizeStart", token=owner, merchant=merchant.slug)
    url = started["data"]["officialAccountAuthorizeStart"]["url"]
    back = merchant_confirms(url, app_id)
    variables = {"state": back["state"], "authCode": back["auth_code"]}
    done = merchant_api.op(
        "OfficialAccountAuthorizeComplete", variables, token=owner, merchant=merchant.slug
    )["data"]["officialAccountAuthorizeComplete"]
    assert done["errors"] == []
    # A viewer, nobody, or a member of another merchant: refused before WeChat is asked.
    for who, slug, code in (
        (access_token(viewer), merchant.slug, "PERMISSION_DENIED"),
        (None, merchant.slug, "UNAUTHENTICATED"),
        (owner, "acme", "MERCHANT_NOT_FOUND"),
    ):
        for name in ("OfficialAccountAuthorizeStart", "OfficialAccountAuthorizeComplete"):
            answer = merchant_api.op(name, variables, token=who, merchant=slug)["data"]
            payload = answer[name[0].lower() + name[1:]]
            assert payload["errors"][0]["code"] == code, (name, who, payload)
    assert done["officialAccount"] | {"authorizedAt": None} == {
        "appId": app_id,
        "name": "茶饮订阅号",
        "principalName": "茶饮订阅号 有限公司",
        "kind": "SUBSCRIPTION",
        "verified": True,
        "status": "AUTHORIZED",
        "canUseServiceApis": False,
        "authorizedAt": None,
        "unauthorizedAt": None,
    }
    again = merchant_api.op(
        "OfficialAccountAuthorizeComplete", variables, token=owner, merchant=merchant.slug
    )["data"]["officialAccountAuthorizeComplete"]
    assert again["errors"][0]["code"] == "OFFICIAL_ACCOUNT_AUTHORIZATION_INVALID"
    # The audit log keeps the attempt, never the code.
    logged = AuditEvent.objects.filter(
        merchant=merchant, mutation="officialAccountAuthorizeComplete"
    ).first()
    assert logged is not None and back["auth_code"] not in str(logged.input)

    fake_component.unauthorize(wechat_component, app_id)
    shown = merchant_api.op("OfficialAccount", token=owner, merchant=merchant.slug)["data"]
    assert shown["officialAccount"]["status"] == "UNAUTHORIZED"
    assert shown["officialAccount"]["unauthorizedAt"]


def test_the_merchant_api_says_when_the_platform_is_off_or_wechat_unreachable(
    wechat_component: FakeWeChat,
    unique: Callable[[str], str],
    merchant_api: Api,
    settings: Any,
) -> None:
    merchant, membership = fresh_merchant(unique)
    owner = access_token(membership.user)
    settings.WECHAT_API_BASE = "http://127.0.0.1:9"
    fake_component.push_verify_ticket(wechat_component)
    unreachable = merchant_api.op(
        "OfficialAccountAuthorizeStart", token=owner, merchant=merchant.slug
    )["data"]["officialAccountAuthorizeStart"]
    assert unreachable["url"] is None
    assert unreachable["errors"][0]["code"] == "OFFICIAL_ACCOUNT_WECHAT_UNAVAILABLE"
    settings.WECHAT_COMPONENT_AES_KEY = ""
    off = merchant_api.op("OfficialAccountAuthorizeStart", token=owner, merchant=merchant.slug)
    assert off["data"]["officialAccountAuthorizeStart"]["errors"][0]["code"] == (
        "OFFICIAL_ACCOUNT_PLATFORM_NOT_CONFIGURED"
    )
    shown = merchant_api.op("OfficialAccount", token=owner, merchant=merchant.slug)["data"]
    assert shown["officialAccountPlatformEnabled"] is False


def test_the_consumer_api_starts_and_finishes_for_the_signed_in_consumer_only(
    wechat_component: FakeWeChat,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    consumer_api: Api,
) -> None:
    merchant, membership = fresh_merchant(unique)
    app_id = register_account(wechat_component, unique)
    authorised(wechat_component, membership, app_id)
    consumer, _ = User.objects.get_or_create_consumer(new_phone())
    other, _ = User.objects.get_or_create_consumer(new_phone())
    mine, theirs = access_token(consumer), access_token(other)

    started = consumer_api.op(
        "MerchantOpenidLinkStart", {"merchant": merchant.slug, "next": "/s/XYZ"}, token=mine
    )["data"]["merchantOpenidLinkStart"]
    assert started["errors"] == []
    back = consumer_returns(started["url"])
    variables = {"state": back["state"], "code": back["code"]}
    stolen = consumer_api.op("MerchantOpenidLinkComplete", variables, token=theirs)["data"]
    assert stolen["merchantOpenidLinkComplete"]["errors"][0]["code"] == (
        "OFFICIAL_ACCOUNT_OAUTH_INVALID"
    )
    done = consumer_api.op("MerchantOpenidLinkComplete", variables, token=mine)["data"]
    assert done["merchantOpenidLinkComplete"] == {"next": "/s/XYZ", "errors": []}
    assert WeChatIdentity.objects.filter(user=consumer, app_id=app_id).exists()
    # Only a path on this site to go back to: another site becomes the wallet.
    elsewhere = consumer_api.op(
        "MerchantOpenidLinkStart",
        {"merchant": merchant.slug, "next": "/\\evil.example"},
        token=mine,
    )["data"]["merchantOpenidLinkStart"]
    back = consumer_returns(elsewhere["url"])
    done = consumer_api.op(
        "MerchantOpenidLinkComplete", {"state": back["state"], "code": back["code"]}, token=mine
    )["data"]["merchantOpenidLinkComplete"]
    assert done == {"next": "/", "errors": []}
    anonymous = consumer_api.op("MerchantOpenidLinkStart", {"merchant": merchant.slug})
    assert anonymous["data"]["merchantOpenidLinkStart"]["errors"][0]["code"] == "UNAUTHENTICATED"
    unknown = consumer_api.op("MerchantOpenidLinkStart", {"merchant": "no-such"}, token=mine)
    assert unknown["data"]["merchantOpenidLinkStart"]["errors"][0]["code"] == "NOT_FOUND"


def test_the_fake_refuses_a_used_or_expired_pre_auth_code_and_an_expired_auth_code(
    wechat_component: FakeWeChat, unique: Callable[[str], str]
) -> None:
    _merchant, membership = fresh_merchant(unique)
    app_id = register_account(wechat_component, unique)
    fake_component.push_verify_ticket(wechat_component)
    url = official_accounts.authorisation_url(membership)
    pre_auth = parse_qs(urlsplit(url).query)["pre_auth_code"][0]
    merchant_confirms(url, app_id)
    with pytest.raises(FakeError) as used:
        fake_component.authorise(wechat_component, app_id, pre_auth)
    assert used.value.errcode == 61007
    stale = official_accounts.authorisation_url(membership)
    wechat_component.advance(fake_component.PRE_AUTH_SECONDS)
    with pytest.raises(FakeError) as expired:
        fake_component.authorise(
            wechat_component, app_id, parse_qs(urlsplit(stale).query)["pre_auth_code"][0]
        )
    assert expired.value.errcode == 61007
    # An authorisation code not exchanged within its hour (and no push arrived).
    wechat_component.area("component")["component"].message_url = "http://127.0.0.1:9/gone"
    back = merchant_confirms(official_accounts.authorisation_url(membership), app_id)
    wechat_component.advance(fake_component.AUTH_CODE_SECONDS)
    with pytest.raises(DomainError) as late:
        official_accounts.complete_authorisation(membership, back["state"], back["auth_code"])
    assert late.value.code == Code.OFFICIAL_ACCOUNT_AUTHORIZATION_INVALID
