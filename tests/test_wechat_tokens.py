"""WeChat's tokens against the fake: fetched once, cached, refreshed once when refused."""

from __future__ import annotations

from typing import Any

import pytest

from core.wechat import WeChatError, platform, tokens, translated
from devtools.fake_wechat import FakeWeChat
from tests.fixtures.concurrency import at_once
from tests.fixtures.wechat import PLATFORM_APP_ID


def token_fetches(fake: FakeWeChat) -> int:
    return sum(1 for call in fake.calls if call == ("GET", "cgi-bin/token"))


def callback_ips(token: str) -> Any:
    with translated():
        return platform.client(token).misc.get_wechat_ips()


def test_the_token_is_fetched_once_by_many_threads_at_once(fake_wechat: FakeWeChat) -> None:
    seen = at_once(8, platform.access_token)
    assert len(set(seen)) == 1
    assert token_fetches(fake_wechat) == 1
    # The single token is the live one: a call with it succeeds.
    assert callback_ips(seen[0]) == ["127.0.0.1"]


def test_a_superseded_token_is_refreshed_once(fake_wechat: FakeWeChat) -> None:
    first = platform.access_token()
    # Someone else fetches a token for the same account: WeChat kills ours.
    fake_wechat.issue_token("access_token", PLATFORM_APP_ID)
    with pytest.raises(WeChatError) as refused:
        callback_ips(first)
    assert refused.value.errcode == WeChatError.INVALID_CREDENTIAL
    assert tokens.call(platform.TOKEN, platform._fetch, callback_ips) == ["127.0.0.1"]
    assert token_fetches(fake_wechat) == 2
    assert platform.access_token() != first


def test_an_expired_token_is_refreshed_once(fake_wechat: FakeWeChat) -> None:
    platform.access_token()
    fake_wechat.advance(7200)
    assert tokens.call(platform.TOKEN, platform._fetch, callback_ips) == ["127.0.0.1"]
    assert token_fetches(fake_wechat) == 2


def test_a_refusal_other_than_the_credential_is_not_retried(fake_wechat: FakeWeChat) -> None:
    calls: list[str] = []

    def refused(token: str) -> None:
        calls.append(token)
        raise WeChatError(WeChatError.API_UNAUTHORIZED, "api unauthorized")

    with pytest.raises(WeChatError):
        tokens.call(platform.TOKEN, platform._fetch, refused)
    assert len(calls) == 1


def test_a_wrong_secret_and_an_address_off_the_whitelist_are_refused(
    fake_wechat: FakeWeChat, settings: Any
) -> None:
    settings.WECHAT_APP_SECRET = "not-the-secret"
    with pytest.raises(WeChatError) as wrong:
        platform.access_token()
    assert wrong.value.errcode == 40125
    settings.WECHAT_APP_SECRET = fake_wechat.app(settings.WECHAT_APP_ID).secret
    fake_wechat.app(settings.WECHAT_APP_ID).ip_whitelist = {"10.0.0.1"}
    with pytest.raises(WeChatError) as not_listed:
        platform.access_token()
    assert not_listed.value.errcode == WeChatError.IP_NOT_WHITELISTED
    assert token_fetches(fake_wechat) == 2


def test_wechat_out_of_reach_is_one_error(fake_wechat: FakeWeChat, settings: Any) -> None:
    settings.WECHAT_API_BASE = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(WeChatError) as unreachable:
        platform.access_token()
    assert unreachable.value.errcode == WeChatError.UNREACHABLE
