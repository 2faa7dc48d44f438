"""The JS-SDK: our service account's ``jsapi_ticket`` and the signed ``wx.config`` of a page.

A page inside WeChat calls ``wx.config`` with our app id, a timestamp, a nonce and a
signature over the page's address made with the ``jsapi_ticket`` before it may use
``wx.getLocation``, ``wx.scanQRCode`` or the share APIs. The ticket comes from
``cgi-bin/ticket/getticket?type=jsapi`` with our access token, lasts about two hours
and has a daily quota, so it is kept by ``core.wechat.tokens`` like the tokens (one
process fetches it; the access token it is fetched with is refreshed once when WeChat
refuses it, 40001/42001). The signature is wechatpy's (``WeChatJSAPI.get_jsapi_signature``:
SHA-1 over ``jsapi_ticket``, ``noncestr``, ``timestamp`` and ``url`` in that order).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from wechatpy.client.api.jsapi import WeChatJSAPI

from core.wechat import platform, tokens, translated

TICKET = "platform:jsapi_ticket"
# What our pages may ask for: the location (scan intelligence), the scanner, sharing.
JS_API_LIST = (
    "getLocation",
    "scanQRCode",
    "updateAppMessageShareData",
    "updateTimelineShareData",
)


@dataclass(frozen=True)
class JsConfig:
    """The arguments of ``wx.config`` for one page address."""

    app_id: str
    timestamp: int
    nonce_str: str
    signature: str
    js_api_list: tuple[str, ...] = JS_API_LIST


def _fetch_ticket() -> tuple[str, int]:
    def request(access_token: str) -> tuple[str, int]:
        with translated():
            result = platform.client(access_token).jsapi.get_ticket("jsapi")
        return str(result["ticket"]), int(result.get("expires_in", 7200))

    return tokens.call(platform.TOKEN, platform._fetch, request)


def ticket() -> str:
    """The cached ``jsapi_ticket`` (raises ``WeChatError`` when WeChat refuses it)."""
    return tokens.get(TICKET, _fetch_ticket)


def signature(url: str, jsapi_ticket: str, nonce_str: str, timestamp: int) -> str:
    """WeChat's JS-SDK signature of ``url`` (its fragment, never sent, is not signed)."""
    # The method does not use its instance: wechatpy keeps it on the API class.
    api = WeChatJSAPI(None)
    return str(api.get_jsapi_signature(nonce_str, jsapi_ticket, timestamp, url.split("#")[0]))


def config(url: str) -> JsConfig:
    """``wx.config`` for the page at ``url``, signed now with a fresh nonce."""
    timestamp, nonce_str = int(time.time()), secrets.token_urlsafe(12)
    return JsConfig(
        app_id=settings.WECHAT_APP_ID,
        timestamp=timestamp,
        nonce_str=nonce_str,
        signature=signature(url, ticket(), nonce_str, timestamp),
    )
