"""The JS-SDK against the fake and WeChat's own example: the ticket and the page signature."""

from __future__ import annotations

import pytest

from core.wechat import WeChatError, jsapi, platform, tokens, translated
from devtools.fake_wechat import FakeWeChat
from devtools.fake_wechat import jsapi as fake_jsapi
from tests.fixtures.concurrency import at_once
from tests.fixtures.wechat import PLATFORM_APP_ID


def calls(fake: FakeWeChat, path: str) -> int:
    return sum(1 for call in fake.calls if call == ("GET", path))


def test_the_signature_matches_the_example_in_wechats_documentation() -> None:
    # 微信 JS-SDK 说明文档, 附录1 "JS-SDK使用权限签名算法", the worked example.
    assert (
        jsapi.signature(
            "http://mp.weixin.qq.com?params=value",
            "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
            "Wm3WZYTPz0wzccnW",
            1414587457,
        )
        == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    )


def test_the_fragment_is_not_signed() -> None:
    args = ("ticket", "nonce", 1)
    assert jsapi.signature("https://x.test/s/A?b=1#wx=t", *args) == jsapi.signature(
        "https://x.test/s/A?b=1", *args
    )
    assert jsapi.signature("https://x.test/s/B", *args) != jsapi.signature(
        "https://x.test/s/A", *args
    )


def test_the_ticket_is_fetched_once_by_many_threads_and_signs_what_wechat_accepts(
    fake_wechat: FakeWeChat,
) -> None:
    seen = at_once(8, jsapi.ticket)
    assert len(set(seen)) == 1
    assert calls(fake_wechat, "cgi-bin/ticket/getticket") == 1
    assert calls(fake_wechat, "cgi-bin/token") == 1

    url = "http://127.0.0.1:8000/s/ABCD?x=1"
    config = jsapi.config(url + "#wx=ticket")
    assert config.app_id == PLATFORM_APP_ID and "getLocation" in config.js_api_list
    assert fake_jsapi.verify(
        fake_wechat, PLATFORM_APP_ID, url, config.nonce_str, config.timestamp, config.signature
    )
    assert not fake_jsapi.verify(
        fake_wechat,
        PLATFORM_APP_ID,
        url + "&y",
        config.nonce_str,
        config.timestamp,
        config.signature,
    )
    # Cached: another page's configuration fetches nothing.
    jsapi.config("http://127.0.0.1:8000/")
    assert calls(fake_wechat, "cgi-bin/ticket/getticket") == 1


def test_a_superseded_access_token_is_refreshed_once_for_the_ticket(
    fake_wechat: FakeWeChat,
) -> None:
    platform.access_token()
    # Another process fetched a token for our account: WeChat killed the cached one.
    fake_wechat.issue_token("access_token", PLATFORM_APP_ID)
    assert jsapi.ticket()
    assert calls(fake_wechat, "cgi-bin/token") == 2
    assert calls(fake_wechat, "cgi-bin/ticket/getticket") == 2  # refused once, then fetched


def test_an_expired_access_token_is_refreshed_once_for_the_ticket(fake_wechat: FakeWeChat) -> None:
    platform.access_token()
    fake_wechat.advance(7200)
    assert jsapi.ticket()
    assert calls(fake_wechat, "cgi-bin/token") == 2


def test_the_fake_refuses_a_token_it_does_not_know_and_a_wrong_type(
    fake_wechat: FakeWeChat,
) -> None:
    with pytest.raises(WeChatError) as unknown, translated():
        platform.client("not-a-token").jsapi.get_ticket("jsapi")
    assert unknown.value.errcode == WeChatError.INVALID_CREDENTIAL
    with pytest.raises(WeChatError) as wrong_type, translated():
        tokens.call(
            platform.TOKEN, platform._fetch, lambda t: platform.client(t).jsapi.get_ticket("card")
        )
    assert wrong_type.value.errcode == 40097


@pytest.mark.django_db
def test_the_consumer_api_answers_a_signed_config_and_null_for_a_non_web_address(
    fake_wechat: FakeWeChat, client
) -> None:
    from tests.fixtures.api import Api

    api = Api(client, "/graphql/", "consumer")
    url = "http://127.0.0.1:8000/s/ABCD"
    answer = api.op("WeChatJsConfig", {"url": url + "#x"})["data"]["weChatJsConfig"]
    assert answer["appId"] == PLATFORM_APP_ID and "getLocation" in answer["jsApiList"]
    assert fake_jsapi.verify(
        fake_wechat,
        PLATFORM_APP_ID,
        url,
        answer["nonceStr"],
        answer["timestamp"],
        answer["signature"],
    )
    assert api.op("WeChatJsConfig", {"url": "javascript:alert(1)"})["data"] == {
        "weChatJsConfig": None
    }
