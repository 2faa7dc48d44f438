"""Web authorisation (网页授权) under our own service account: who is on our page.

Inside WeChat's browser a page sends the visitor to ``authorize_url``; WeChat sends them
back to ``redirect_uri`` with a ``code`` (single use, 5 minutes) and our ``state``;
``exchange_code`` trades the code for the visitor's OpenID under our app. ``snsapi_base``
is silent and gives the OpenID only, which is all sign-in needs (ARCHITECTURE.md: the
UnionID of ``snsapi_userinfo`` is never relied on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from wechatpy.oauth import WeChatOAuth

from core.wechat import Endpoints, timeout, translated

BASE_SCOPE = "snsapi_base"
USERINFO_SCOPE = "snsapi_userinfo"


@dataclass(frozen=True)
class OAuthResult:
    """What an exchanged code tells: the visitor's OpenID under ``app_id``."""

    app_id: str
    openid: str
    scope: str
    unionid: str = ""
    # Set for a visitor who only saw WeChat's snapshot page (no real authorisation).
    is_snapshotuser: bool = False


class _OAuth(WeChatOAuth):  # type: ignore[misc]  # wechatpy has no type information
    """wechatpy's OAuth pointed at ``WECHAT_API_BASE``/``WECHAT_OPEN_BASE``, with a timeout."""

    def __init__(self, redirect_uri: str = "", state: str = "", scope: str = BASE_SCOPE) -> None:
        super().__init__(
            settings.WECHAT_APP_ID, settings.WECHAT_APP_SECRET, redirect_uri, scope, state
        )
        endpoints = Endpoints.from_settings()
        self.API_BASE_URL = endpoints.api
        self.OAUTH_BASE_URL = endpoints.open + "connect/"

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", timeout())
        return super()._request(method, url_or_endpoint, **kwargs)


def authorize_url(redirect_uri: str, state: str, scope: str = BASE_SCOPE) -> str:
    """Where to send the visitor: WeChat's authorisation, back to ``redirect_uri``."""
    return str(_OAuth(redirect_uri, state, scope).authorize_url)


def exchange_code(code: str) -> OAuthResult:
    """The visitor behind ``code`` (raises ``WeChatError``: 40029 invalid, 40163 used)."""
    with translated():
        result = _OAuth().fetch_access_token(code)
    return OAuthResult(
        app_id=settings.WECHAT_APP_ID,
        openid=str(result["openid"]),
        scope=str(result.get("scope", BASE_SCOPE)),
        unionid=str(result.get("unionid", "")),
        is_snapshotuser=bool(result.get("is_snapshotuser", 0)),
    )
