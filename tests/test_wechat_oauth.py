"""Web authorisation against the fake WeChat, which enforces WeChat's rules, and the ticket."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core import signing

from accounts import wechat
from accounts.error_codes import AccountErrorCode
from accounts.errors import AuthError
from core.wechat import WeChatError, oauth
from devtools.fake_wechat import FakeWeChat
from devtools.fake_wechat import oauth as fake_oauth

CALLBACK = "http://127.0.0.1:8000/wechat/callback"


def authorise(url: str, user: str = "alice") -> requests.Response:
    """What WeChat's browser does with our redirect: follow it to WeChat, as ``user``."""
    return requests.get(url, params={"user": user}, allow_redirects=False, timeout=5)


def code_from(response: requests.Response) -> tuple[str, str]:
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    return query["code"][0], query["state"][0]


def test_silent_authorisation_gives_the_openid_once(fake_wechat: FakeWeChat) -> None:
    url = oauth.authorize_url(CALLBACK, "s0123456789")
    assert url.endswith("#wechat_redirect")
    code, state = code_from(authorise(url.split("#")[0]))
    assert state == "s0123456789"
    result = oauth.exchange_code(code)
    assert result.openid == fake_oauth.openid("alice", result.app_id)
    assert result.unionid == ""  # snsapi_base never gives one
    with pytest.raises(WeChatError) as replayed:
        oauth.exchange_code(code)
    assert replayed.value.errcode == WeChatError.CODE_USED


def test_the_openid_is_per_user_and_stable(fake_wechat: FakeWeChat) -> None:
    url = oauth.authorize_url(CALLBACK, "s").split("#")[0]
    first = oauth.exchange_code(code_from(authorise(url))[0]).openid
    again = oauth.exchange_code(code_from(authorise(url))[0]).openid
    other = oauth.exchange_code(code_from(authorise(url, "bob"))[0]).openid
    assert first == again != other


def test_codes_expire_after_five_minutes(fake_wechat: FakeWeChat) -> None:
    code, _ = code_from(authorise(oauth.authorize_url(CALLBACK, "s").split("#")[0]))
    fake_wechat.advance(301)
    with pytest.raises(WeChatError) as expired:
        oauth.exchange_code(code)
    assert expired.value.errcode == 42003


def test_an_unknown_code_and_a_wrong_secret_are_refused(
    fake_wechat: FakeWeChat, settings: Any
) -> None:
    with pytest.raises(WeChatError) as unknown:
        oauth.exchange_code("not-a-code")
    assert unknown.value.errcode == WeChatError.INVALID_CODE
    code, _ = code_from(authorise(oauth.authorize_url(CALLBACK, "s").split("#")[0]))
    settings.WECHAT_APP_SECRET = "wrong"
    with pytest.raises(WeChatError) as wrong:
        oauth.exchange_code(code)
    assert wrong.value.errcode == 40125


def test_a_redirect_off_the_registered_domain_is_refused(fake_wechat: FakeWeChat) -> None:
    url = oauth.authorize_url("https://evil.example/steal", "s").split("#")[0]
    response = authorise(url)
    assert response.status_code == 400
    assert "10003" in response.text


def test_userinfo_gives_a_unionid_except_to_a_snapshot_user(fake_wechat: FakeWeChat) -> None:
    url = oauth.authorize_url(CALLBACK, "s", oauth.USERINFO_SCOPE).split("#")[0]
    assert oauth.exchange_code(code_from(authorise(url))[0]).unionid
    fake_oauth.snapshot_users(fake_wechat).add("carol")
    snapshot = oauth.exchange_code(code_from(authorise(url, "carol"))[0])
    assert snapshot.is_snapshotuser and not snapshot.unionid


def test_a_ticket_works_once(fake_wechat: FakeWeChat) -> None:
    result = oauth.OAuthResult(app_id="wx1", openid="o-alice", scope="snsapi_base")
    ticket = wechat.issue_ticket(result)
    assert wechat.read_ticket(ticket) == wechat.WeChatProfile("wx1", "o-alice")
    assert wechat.use_ticket(ticket).openid == "o-alice"
    with pytest.raises(AuthError) as again:
        wechat.use_ticket(ticket)
    assert again.value.code == AccountErrorCode.WECHAT_TICKET_USED


def test_a_forged_or_stale_ticket_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = wechat.issue_ticket(oauth.OAuthResult("wx1", "o-alice", "snsapi_base"))
    forged = ticket.replace(
        ticket.split(":")[0], signing.b64_encode(b'{"a":"wx1","o":"o-bob"}').decode()
    )
    with pytest.raises(AuthError) as bad:
        wechat.read_ticket(forged)
    assert bad.value.code == AccountErrorCode.WECHAT_TICKET_INVALID
    monkeypatch.setattr(wechat, "TICKET_SECONDS", -1)
    with pytest.raises(AuthError) as stale:
        wechat.use_ticket(ticket)
    assert stale.value.code == AccountErrorCode.WECHAT_TICKET_EXPIRED
