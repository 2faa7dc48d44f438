"""Our third-party platform (开放平台第三方平台, "component"): the calls to WeChat.

Merchants authorise their official accounts to the platform on WeChat's own page; from
then on we call WeChat on their behalf with an *authoriser* access token, never with
their AppSecret. This module is the client only, on ``wechatpy`` (decision 0155): each
function takes the token or ticket it needs and returns WeChat's answer, inside
``translated()``. Where the ``component_verify_ticket`` and the authorisers' refresh
tokens are kept, and which token is cached how, is the business of the floor above
(``tenants.wechat``), which holds them in the database and ``core.wechat.tokens``.

The message crypto (``decrypt``) is wechatpy's ``WeChatCrypto``: the signature is
SHA-1 over the sorted token, timestamp, nonce and ciphertext, and the ciphertext is
AES-256-CBC of (16 random bytes, length, XML, app id), as WeChat's 消息加解密 documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import xmltodict
from django.conf import settings
from wechatpy.client import WeChatClient
from wechatpy.component import ComponentOAuth, WeChatComponent
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.session.memorystorage import MemoryStorage

from core.wechat import Endpoints, WeChatError, timeout, translated

COMPONENT_TOKEN = "component:access_token"


def authorizer_token_name(authoriser: str) -> str:
    """The name under which ``core.wechat.tokens`` keeps an authoriser's access token."""
    return f"authorizer:{authoriser}:access_token"


class PushRefused(Exception):
    """A push to our message URL that is not WeChat's: bad signature, key or app id."""


def client(component_access_token: str | None = None, ticket: str = "") -> Any:
    """A ``wechatpy`` component, pointed at ``WECHAT_API_BASE``, holding the given token.

    wechatpy's session would fetch a token whenever it finds none (in every process at
    once); it is handed ours instead, and ``auto_retry`` is off, so a refused token goes
    back to ``core.wechat.tokens`` (decision 0155).
    """
    session = MemoryStorage()
    if component_access_token:
        session.set("component_access_token", component_access_token)
    if ticket:
        session.set("component_verify_ticket", ticket)
    component = WeChatComponent(
        settings.WECHAT_COMPONENT_APP_ID,
        settings.WECHAT_COMPONENT_APP_SECRET,
        settings.WECHAT_COMPONENT_TOKEN,
        settings.WECHAT_COMPONENT_AES_KEY,
        session=session,
        auto_retry=False,
    )
    component.API_BASE_URL = Endpoints.from_settings().api + "cgi-bin"
    component.PRE_AUTH_URL = settings.WECHAT_MP_BASE.rstrip("/") + "/cgi-bin/componentloginpage"
    # wechatpy's requests carry no timeout of their own.
    component._http.request = _with_timeout(component._http.request)
    component._http.post = _with_timeout(component._http.post)
    return component


def _with_timeout(send: Any) -> Any:
    def sent(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", timeout())
        return send(*args, **kwargs)

    return sent


# --- The component access token ------------------------------------------------------


def fetch_component_token(ticket: str) -> tuple[str, int]:
    """``api_component_token``: needs the latest ``component_verify_ticket`` WeChat pushed."""
    if not ticket:
        # WeChat pushes the first ticket within ten minutes of the platform going live.
        raise WeChatError(61006, "no component_verify_ticket received yet")
    with translated():
        result = client(ticket=ticket).fetch_access_token()
    return str(result["component_access_token"]), int(result.get("expires_in", 7200))


# --- Authorisation -----------------------------------------------------------------


def login_page_url(component_access_token: str, redirect_uri: str) -> tuple[str, str]:
    """WeChat's authorisation page for a fresh pre-auth code, and that code.

    The page (``componentloginpage``) is where the merchant's administrator scans and
    confirms; WeChat then sends the browser to ``redirect_uri`` with ``auth_code``.
    """
    with translated():
        component = client(component_access_token)
        pre_auth_code = str(component.create_preauthcode()["pre_auth_code"])
    url = (
        f"{component.PRE_AUTH_URL}?component_appid={quote(component.component_appid)}"
        f"&pre_auth_code={quote(pre_auth_code, safe='')}"
        f"&redirect_uri={quote(redirect_uri, safe='')}&auth_type=1"
    )
    return url, pre_auth_code


@dataclass(frozen=True)
class Authorised:
    """What ``api_query_auth`` and ``api_authorizer_token`` give."""

    authoriser: str
    access_token: str
    expires_in: int
    refresh_token: str
    func_ids: tuple[int, ...] = ()


def query_auth(component_access_token: str, authorization_code: str) -> Authorised:
    with translated():
        info = client(component_access_token)._query_auth(authorization_code)["authorization_info"]
    return Authorised(
        authoriser=str(info["authorizer_appid"]),
        access_token=str(info["authorizer_access_token"]),
        expires_in=int(info.get("expires_in", 7200)),
        refresh_token=str(info["authorizer_refresh_token"]),
        func_ids=_func_ids(info),
    )


def refresh_authorizer_token(
    component_access_token: str, authoriser: str, refresh_token: str
) -> Authorised:
    with translated():
        result = client(component_access_token).refresh_authorizer_token(authoriser, refresh_token)
    return Authorised(
        authoriser=authoriser,
        access_token=str(result["authorizer_access_token"]),
        expires_in=int(result.get("expires_in", 7200)),
        # WeChat may hand a new refresh token: the old one then stops working.
        refresh_token=str(result.get("authorizer_refresh_token") or refresh_token),
    )


@dataclass(frozen=True)
class AccountInfo:
    """An authorised official account as ``api_get_authorizer_info`` describes it."""

    authoriser: str
    name: str
    principal_name: str
    user_name: str
    service_type: int  # 0, 1 subscription (订阅号); 2 service (服务号)
    verify_type: int  # -1 unverified; 0 WeChat-verified; 1..5 other verifications
    func_ids: tuple[int, ...]


def authorizer_info(component_access_token: str, authoriser: str) -> AccountInfo:
    with translated():
        result = client(component_access_token).get_authorizer_info(authoriser)
    info = result.get("authorizer_info", {})
    return AccountInfo(
        authoriser=authoriser,
        name=str(info.get("nick_name", "")),
        principal_name=str(info.get("principal_name", "")),
        user_name=str(info.get("user_name", "")),
        service_type=int(info.get("service_type_info", {}).get("id", 0)),
        verify_type=int(info.get("verify_type_info", {}).get("id", -1)),
        func_ids=_func_ids(result.get("authorization_info", {})),
    )


def _func_ids(info: dict[str, Any]) -> tuple[int, ...]:
    return tuple(
        int(item["funcscope_category"]["id"])
        for item in info.get("func_info", [])
        if "funcscope_category" in item
    )


def create_qrcode(authorizer_access_token: str, scene: str, expire_seconds: int) -> str:
    """A temporary parametric QR code of an authorised account (``QR_STR_SCENE``).

    Only a verified service account may: WeChat answers 48001 to any other.
    """
    account = WeChatClient(
        "", "", access_token=authorizer_access_token, timeout=timeout(), auto_retry=False
    )
    account.API_BASE_URL = Endpoints.from_settings().api + "cgi-bin/"
    with translated():
        result = account.qrcode.create(
            {
                "expire_seconds": expire_seconds,
                "action_name": "QR_STR_SCENE",
                "action_info": {"scene": {"scene_str": scene}},
            }
        )
    return str(result["ticket"])


def create_poster_qrcode(authorizer_access_token: str, scene: str) -> str:
    """A permanent parametric QR code (``QR_LIMIT_STR_SCENE``) for print: WeChat allows an
    account 100,000 of them, so each is made once and kept by the caller."""
    account = WeChatClient(
        "", "", access_token=authorizer_access_token, timeout=timeout(), auto_retry=False
    )
    account.API_BASE_URL = Endpoints.from_settings().api + "cgi-bin/"
    with translated():
        result = account.qrcode.create(
            {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}
        )
    return str(result["ticket"])


def qrcode_image_url(ticket: str) -> str:
    """Where WeChat serves a parametric code's picture (``showqrcode``)."""
    return settings.WECHAT_MP_BASE.rstrip("/") + "/cgi-bin/showqrcode?ticket=" + quote(ticket)


def encrypted_reply(xml: str, nonce: str, timestamp: str) -> str:
    """A passive reply to a pushed message, encrypted and signed as WeChat expects."""
    return str(crypto().encrypt_message(xml, nonce, timestamp))


# --- OAuth on an authoriser's behalf -------------------------------------------------


def oauth(authoriser: str, component_access_token: str | None = None) -> Any:
    """``wechatpy``'s ``ComponentOAuth`` for ``authoriser``, pointed at our settings."""
    result = ComponentOAuth(authoriser, component=client(component_access_token))
    endpoints = Endpoints.from_settings()
    result.API_BASE_URL = endpoints.api
    result.OAUTH_BASE_URL = endpoints.open + "connect/"
    result._http.request = _with_timeout(result._http.request)
    return result


def oauth_url(authoriser: str, redirect_uri: str, state: str) -> str:
    """WeChat's silent (``snsapi_base``) authorisation under the merchant's app."""
    return str(oauth(authoriser).get_authorize_url(redirect_uri, "snsapi_base", state))


def oauth_openid(component_access_token: str, authoriser: str, code: str) -> str:
    """Exchange the single-use ``code`` for the person's OpenID under ``authoriser``."""
    with translated():
        result = oauth(authoriser, component_access_token).fetch_access_token(code)
    return str(result["openid"])


# --- Pushes to our message URL ---------------------------------------------------


def crypto() -> WeChatCrypto:
    return WeChatCrypto(
        settings.WECHAT_COMPONENT_TOKEN,
        settings.WECHAT_COMPONENT_AES_KEY,
        settings.WECHAT_COMPONENT_APP_ID,
    )


def decrypt(body: bytes, msg_signature: str, timestamp: str, nonce: str) -> dict[str, str]:
    """The fields of a push (``InfoType``, ``ComponentVerifyTicket``, ``AuthorizerAppid``...).

    Refused (``PushRefused``) unless signed with our token and encrypted with our key for
    our app id: anyone can POST to the message URL.
    """
    try:
        plain = crypto().decrypt_message(body, msg_signature, timestamp, nonce)
        message = xmltodict.parse(plain)["xml"]
    except (InvalidSignatureException, InvalidAppIdException) as exc:
        raise PushRefused(type(exc).__name__) from exc
    except Exception as exc:  # malformed XML, base64 or padding: not from WeChat
        raise PushRefused(f"unreadable push: {exc!r}") from exc
    if not isinstance(message, dict):
        raise PushRefused("unreadable push")
    return {str(k): str(v) for k, v in message.items() if v is not None}
