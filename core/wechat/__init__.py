"""WeChat, outside our system: the one client package every app calls.

The protocol facts are in ``ARCHITECTURE.md`` ("WeChat"). The package is split by what
WeChat offers, one module each, all built on ``wechatpy`` (decision 0155) and on the
one token cache (``core.wechat.tokens``):

- ``tokens``: access tokens and tickets cached in the shared cache with their expiry,
  refreshed by one process at a time, refreshed once on ``invalid credential``;
- ``oauth``: web authorisation under our own service account (consumers' sign-in);
- ``component``: our third-party platform (merchants' authorised official accounts);
- ``jsapi``: the JS-SDK's ``jsapi_ticket`` and page signatures.

Where WeChat lives is a setting (``WECHAT_API_BASE``, ``WECHAT_OPEN_BASE``), so that the
tests and the demo talk to the local fake (``devtools.fake_wechat``), which enforces
WeChat's rules, through exactly the code that talks to WeChat in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from django.conf import settings
from wechatpy.exceptions import WeChatClientException


class WeChatError(Exception):
    """WeChat answered with an error code (``errcode`` not 0), or could not be reached.

    ``errcode`` is WeChat's own number (40001 invalid credential, 40163 code used,
    40164 address not whitelisted, 48001 API not authorised, ...), or -1 when WeChat
    could not be reached or answered something that is not its JSON.
    """

    INVALID_CREDENTIAL = 40001
    INVALID_CODE = 40029
    CODE_USED = 40163
    IP_NOT_WHITELISTED = 40164
    ACCESS_TOKEN_EXPIRED = 42001
    API_UNAUTHORIZED = 48001
    UNREACHABLE = -1

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def is_invalid_credential(self) -> bool:
        """The token WeChat was sent is no longer valid: refresh it once and retry."""
        return self.errcode in (self.INVALID_CREDENTIAL, self.ACCESS_TOKEN_EXPIRED)


@dataclass(frozen=True)
class Endpoints:
    """Where WeChat's servers are: ``api.weixin.qq.com`` and ``open.weixin.qq.com``."""

    api: str
    open: str

    @classmethod
    def from_settings(cls) -> Endpoints:
        return cls(
            api=settings.WECHAT_API_BASE.rstrip("/") + "/",
            open=settings.WECHAT_OPEN_BASE.rstrip("/") + "/",
        )


def enabled() -> bool:
    """Whether our own service account is configured (otherwise sign-in is by phone only)."""
    return bool(settings.WECHAT_APP_ID and settings.WECHAT_APP_SECRET)


def component_enabled() -> bool:
    """Whether our third-party platform is configured (merchants can authorise accounts)."""
    return bool(
        settings.WECHAT_COMPONENT_APP_ID
        and settings.WECHAT_COMPONENT_APP_SECRET
        and settings.WECHAT_COMPONENT_TOKEN
        and settings.WECHAT_COMPONENT_AES_KEY
    )


@contextmanager
def translated() -> Iterator[None]:
    """Turn what ``wechatpy`` and ``requests`` raise into ``WeChatError``.

    Every call to WeChat runs inside this, so callers handle one exception with WeChat's
    own number, whichever client class made the call.
    """
    try:
        yield
    except WeChatClientException as exc:
        errcode = exc.errcode if isinstance(exc.errcode, int) else WeChatError.UNREACHABLE
        raise WeChatError(errcode, str(exc.errmsg or exc)) from exc
    except (requests.RequestException, ValueError) as exc:
        raise WeChatError(WeChatError.UNREACHABLE, str(exc)) from exc


def timeout() -> float:
    return float(settings.WECHAT_TIMEOUT_SECONDS)
