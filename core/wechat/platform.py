"""Our own service account (服务号): its access token, for the APIs called under it.

Consumers sign in under this account (``core.wechat.oauth``) and our pages' JS-SDK is
signed with its ``jsapi_ticket`` (``core.wechat.jsapi``); both need its access token,
fetched with the app secret from ``cgi-bin/token`` and kept by ``core.wechat.tokens``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from wechatpy.client import WeChatClient

from core.wechat import Endpoints, timeout, tokens, translated

TOKEN = "platform:access_token"


def client(access_token: str | None = None) -> Any:
    """A ``wechatpy`` client of our service account, pointed at ``WECHAT_API_BASE``.

    ``auto_retry`` is off: a refused token goes back to ``tokens.call``, which alone
    decides when to fetch another (wechatpy's own retry would fetch behind its back).
    """
    wechat = WeChatClient(
        settings.WECHAT_APP_ID,
        settings.WECHAT_APP_SECRET,
        access_token=access_token,
        timeout=timeout(),
        auto_retry=False,
    )
    wechat.API_BASE_URL = Endpoints.from_settings().api + "cgi-bin/"
    return wechat


def _fetch() -> tuple[str, int]:
    with translated():
        # wechatpy's fetch_access_token names api.weixin.qq.com itself; its helper takes
        # the address, so the fake is reached the same way.
        result = client()._fetch_access_token(
            url=Endpoints.from_settings().api + "cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": settings.WECHAT_APP_ID,
                "secret": settings.WECHAT_APP_SECRET,
            },
        )
    return str(result["access_token"]), int(result.get("expires_in", 7200))


def access_token() -> str:
    return tokens.get(TOKEN, _fetch)


def call(request: Any) -> Any:
    """``request(access_token)`` as our service account, refreshed once on 40001/42001."""
    return tokens.call(TOKEN, _fetch, request)


def send_template(
    access_token: str, openid: str, template_id: str, data: dict[str, Any], url: str = ""
) -> int:
    """A template message (模板消息) to a follower of our service account; its msgid.

    WeChat refuses with 43004 (not a follower), 45009 (the day's quota), 48001 (not a
    verified service account): ``WeChatError`` with that errcode.
    """
    with translated():
        result = client(access_token).message.send_template(
            openid, template_id, data, url=url or None
        )
    return int(result.get("msgid", 0))
