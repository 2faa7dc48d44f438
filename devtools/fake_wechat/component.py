"""The fake's third-party platform ("component", 开放平台第三方平台) and its authorisers.

What WeChat enforces, enforced here on the fake's clock:

- the component access token (``api_component_token``) needs the platform's secret and
  a ``component_verify_ticket`` WeChat pushed within the last 12 hours; a new one kills
  the previous (40001), and it expires (42001);
- pre-auth codes (``api_create_preauthcode``) and authorisation codes (given to the
  merchant's browser and pushed with ``authorized``) are single-use and expire;
- the authorisation page (``mp.weixin.qq.com/cgi-bin/componentloginpage``) redirects
  only to the platform's registered login-page domain, and its button stands for the
  merchant's administrator scanning and confirming; it pushes ``authorized`` (or
  ``updateauthorized``) to the platform's message URL;
- an authoriser's access token is issued with a refresh token that only the live
  authorisation holds; ``unauthorize`` (the merchant cancels in WeChat) kills both and
  pushes ``unauthorized``;
- parametric QR codes and the accounts' own events are ``follow.py``'s;
- OAuth on an authoriser's behalf (``connect/oauth2/authorize`` with ``component_appid``)
  redirects only to the platform's registered domain, gives a single-use code that
  expires in five minutes (40163 used, 40029 unknown or expired), exchanged at
  ``sns/oauth2/component/access_token`` with a live component access token, for an
  OpenID that is the person's under the authoriser's app.

Pushes are signed and AES-encrypted with the platform's token and EncodingAESKey, as
WeChat sends them (``msg_signature``, ``timestamp``, ``nonce``, ``encrypt_type=aes``),
over HTTP to the registered message URL; ``redeliver`` sends the same bytes again, as
WeChat retries.
"""

from __future__ import annotations

import hashlib
import html
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from wechatpy.crypto import WeChatCrypto

from devtools.fake_wechat import oauth
from devtools.fake_wechat.server import (
    ROUTES,
    TOKEN_SECONDS,
    App,
    FakeError,
    FakeWeChat,
    Request,
    Response,
    route,
)

TICKET_SECONDS = 12 * 3600
PRE_AUTH_SECONDS = 1800
AUTH_CODE_SECONDS = 3600
# The person browsing inside the fake WeChat when a test does not name one.
DEFAULT_PERSON = "wechat-person-1"


@dataclass
class Component:
    """Our third-party platform as WeChat knows it."""

    app_id: str
    secret: str
    token: str
    aes_key: str
    message_url: str
    # 授权发起页域名: the authorisation page redirects only there.
    login_domains: set[str] = field(default_factory=lambda: {"127.0.0.1", "localhost"})
    # 网页开发域名: OAuth on an authoriser's behalf redirects only there.
    redirect_domains: set[str] = field(default_factory=lambda: {"127.0.0.1", "localhost"})
    # ticket -> when it stops being accepted
    tickets: dict[str, float] = field(default_factory=dict)
    # 消息与事件接收 URL: every authorised account's messages go there, ``$APPID$``
    # replaced by the account's app id (``follow.py``).
    account_message_url: str = ""


@dataclass
class Code:
    value: str
    kind: str  # "pre_auth", "auth" (OAuth codes are oauth.py's)
    owner: str  # the app id it belongs to
    expires_at: float
    used: bool = False
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Authorisation:
    authoriser: str
    refresh_token: str
    func_ids: list[int]
    live: bool = True


@dataclass
class Push:
    """One push as sent: the same bytes go again on ``redeliver``."""

    url: str
    body: bytes
    status: int = 0
    answer: str = ""


def _state(fake: FakeWeChat) -> dict[str, Any]:
    area = fake.area("component")
    area.setdefault("component", None)
    area.setdefault("codes", {})
    area.setdefault("authorisations", {})
    area.setdefault("pushes", [])
    area.setdefault("person", DEFAULT_PERSON)
    return area


# --- What a test sets up and does ----------------------------------------------------


def register_component(
    fake: FakeWeChat,
    app_id: str,
    secret: str,
    token: str,
    aes_key: str,
    message_url: str,
    **details: Any,
) -> Component:
    with fake.lock:
        component = Component(app_id, secret, token, aes_key, message_url, **details)
        _state(fake)["component"] = component
        return component


def component(fake: FakeWeChat) -> Component:
    with fake.lock:
        found = _state(fake)["component"]
    if found is None:
        raise FakeError(61004, "component is not registered")
    return found


def set_person(fake: FakeWeChat, person: str) -> None:
    """Who is using WeChat now (the OpenIDs the fake gives out are this person's)."""
    with fake.lock:
        _state(fake)["person"] = person


def openid(app_id: str, person: str) -> str:
    """A person's OpenID under an app: the same as our own OAuth gives (``oauth.openid``)."""
    return oauth.openid(person, app_id)


def push(fake: FakeWeChat, info_type: str, **fields: str) -> Push:
    """Send a component event to the platform's message URL, as WeChat does."""
    target = component(fake)
    inner = {"AppId": target.app_id, "CreateTime": str(int(fake.now())), "InfoType": info_type}
    inner.update(fields)
    xml = "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in inner.items()) + "</xml>"
    crypto = WeChatCrypto(target.token, target.aes_key, target.app_id)
    nonce = secrets.token_hex(5)
    timestamp = str(int(fake.now()))
    encrypted = crypto.encrypt_message(xml, nonce, timestamp)
    # WeChat's envelope for component pushes carries the platform's app id and the
    # ciphertext; the signature travels in the query string.
    encrypt = encrypted.split("<Encrypt><![CDATA[")[1].split("]]></Encrypt>")[0]
    signature = encrypted.split("<MsgSignature><![CDATA[")[1].split("]]></MsgSignature>")[0]
    body = (
        f"<xml><AppId><![CDATA[{target.app_id}]]></AppId>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    ).encode()
    query = urlencode(
        {
            "signature": hashlib.sha1(
                "".join(sorted([target.token, timestamp, nonce])).encode()
            ).hexdigest(),
            "timestamp": timestamp,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": signature,
        }
    )
    sent = Push(f"{target.message_url}?{query}", body)
    with fake.lock:
        _state(fake)["pushes"].append(sent)
    return deliver(sent)


def deliver(sent: Push) -> Push:
    """POST a push (again): WeChat retries a push that got no ``success`` in time."""
    request = urllib.request.Request(
        sent.url, data=sent.body, method="POST", headers={"Content-Type": "text/xml"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            sent.status, sent.answer = answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        sent.status, sent.answer = refused.code, refused.read().decode(errors="replace")
    except OSError as unreachable:
        # WeChat carries on (the merchant's page still completes) and retries later.
        sent.status, sent.answer = 0, str(unreachable)
    return sent


def push_verify_ticket(fake: FakeWeChat) -> tuple[str, Push]:
    """WeChat's ten-minute push: a new ticket, accepted for 12 hours."""
    target = component(fake)
    ticket = "ticket@@@" + secrets.token_urlsafe(24)
    with fake.lock:
        target.tickets[ticket] = fake.now() + TICKET_SECONDS
    return ticket, push(fake, "component_verify_ticket", ComponentVerifyTicket=ticket)


def unauthorize(fake: FakeWeChat, authoriser: str) -> Push:
    """The merchant cancels the authorisation in WeChat: tokens die, the event is pushed."""
    with fake.lock:
        found = _state(fake)["authorisations"].get(authoriser)
        if found is not None:
            found.live = False
        for value, token in list(fake.tokens.items()):
            if token.kind == "authorizer_access_token" and token.owner == authoriser:
                del fake.tokens[value]
    return push(fake, "unauthorized", AuthorizerAppid=authoriser)


def authorise(
    fake: FakeWeChat, authoriser: str, pre_auth_code: str, func_ids: list[int] | None = None
) -> str:
    """The merchant's administrator scans the page and confirms: an authorisation code.

    What the page's button does; also pushes ``authorized`` (or ``updateauthorized``
    when the account had authorised before) with the same code.
    """
    target = component(fake)
    fake.app(authoriser)
    now = fake.now()
    with fake.lock:
        state = _state(fake)
        pre = state["codes"].get(pre_auth_code)
        if pre is None or pre.kind != "pre_auth" or pre.owner != target.app_id:
            raise FakeError(61008, "invalid pre_auth_code")
        if pre.used or pre.expires_at <= now:
            raise FakeError(61007, "pre_auth_code expired or used")
        pre.used = True
        previous = state["authorisations"].get(authoriser)
        updated = previous is not None and previous.live
        state["authorisations"][authoriser] = Authorisation(
            authoriser,
            refresh_token="refreshtoken@@@" + secrets.token_urlsafe(24),
            func_ids=func_ids or [1, 2, 3, 4, 7, 11, 15],
        )
        code = Code(
            "queryauthcode@@@" + secrets.token_urlsafe(24),
            "auth",
            authoriser,
            now + AUTH_CODE_SECONDS,
        )
        state["codes"][code.value] = code
    push(
        fake,
        "updateauthorized" if updated else "authorized",
        AuthorizerAppid=authoriser,
        AuthorizationCode=code.value,
        AuthorizationCodeExpiredTime=str(int(code.expires_at)),
        PreAuthCode=pre_auth_code,
    )
    return code.value


# --- Checks --------------------------------------------------------------------------


def _component_call(fake: FakeWeChat, request: Request) -> tuple[Component, dict[str, Any]]:
    """A call made with the component access token, about our own component."""
    target = component(fake)
    fake.check_token(request.arg("component_access_token"), "component_access_token")
    body = request.json()
    if body.get("component_appid") != target.app_id:
        raise FakeError(61004, "invalid component_appid")
    return target, body


def _live_authorisation(fake: FakeWeChat, authoriser: str) -> Authorisation:
    with fake.lock:
        found = _state(fake)["authorisations"].get(authoriser)
    if found is None or not found.live:
        raise FakeError(61003, "component is not authorized by this account")
    return found


def _take_code(fake: FakeWeChat, value: str, kind: str, used: int, unknown: int) -> Code:
    with fake.lock:
        code = _state(fake)["codes"].get(value)
        if code is None or code.kind != kind or code.expires_at <= fake.now():
            raise FakeError(unknown, "invalid code")
        if code.used:
            raise FakeError(used, "code been used")
        code.used = True
        return code


def _authorization_info(fake: FakeWeChat, authoriser: str, refresh: str) -> dict[str, Any]:
    found = _live_authorisation(fake, authoriser)
    token = fake.issue_token("authorizer_access_token", authoriser)
    return {
        "authorizer_appid": authoriser,
        "authorizer_access_token": token.value,
        "expires_in": TOKEN_SECONDS,
        "authorizer_refresh_token": refresh or found.refresh_token,
        "func_info": [{"funcscope_category": {"id": i}} for i in found.func_ids],
    }


# --- Endpoints ---------------------------------------------------------------------


@route("POST", "cgi-bin/component/api_component_token")
def component_token(fake: FakeWeChat, request: Request) -> Response:
    target = component(fake)
    body = request.json()
    if body.get("component_appid") != target.app_id:
        raise FakeError(61004, "invalid component_appid")
    if not secrets.compare_digest(
        str(body.get("component_appsecret", "")).encode(), target.secret.encode()
    ):
        raise FakeError(61005, "invalid component_appsecret")
    caller = App(target.app_id, target.secret, ip_whitelist=_whitelist(fake))
    fake.check_caller(caller, request)
    ticket = str(body.get("component_verify_ticket") or "")
    with fake.lock:
        good = target.tickets.get(ticket, 0) > fake.now()
    if not good:
        raise FakeError(61006, "component ticket is expired or invalid")
    token = fake.issue_token("component_access_token", target.app_id)
    return Response.json({"component_access_token": token.value, "expires_in": TOKEN_SECONDS})


def _whitelist(fake: FakeWeChat) -> set[str]:
    with fake.lock:
        return set(_state(fake).get("ip_whitelist", set()))


def set_whitelist(fake: FakeWeChat, addresses: set[str]) -> None:
    """The platform's IP whitelist (empty: any caller)."""
    with fake.lock:
        _state(fake)["ip_whitelist"] = set(addresses)


@route("POST", "cgi-bin/component/api_create_preauthcode")
def create_preauthcode(fake: FakeWeChat, request: Request) -> Response:
    target, _body = _component_call(fake, request)
    code = Code(
        "preauthcode@@@" + secrets.token_urlsafe(24),
        "pre_auth",
        target.app_id,
        fake.now() + PRE_AUTH_SECONDS,
    )
    with fake.lock:
        _state(fake)["codes"][code.value] = code
    return Response.json({"pre_auth_code": code.value, "expires_in": PRE_AUTH_SECONDS})


@route("POST", "cgi-bin/component/api_query_auth")
def query_auth(fake: FakeWeChat, request: Request) -> Response:
    _component_call(fake, request)
    body = request.json()
    code = _take_code(fake, str(body.get("authorization_code", "")), "auth", 61010, 61009)
    return Response.json({"authorization_info": _authorization_info(fake, code.owner, "")})


@route("POST", "cgi-bin/component/api_authorizer_token")
def authorizer_token(fake: FakeWeChat, request: Request) -> Response:
    _target, body = _component_call(fake, request)
    authoriser = str(body.get("authorizer_appid", ""))
    found = _live_authorisation(fake, authoriser)
    if not secrets.compare_digest(
        str(body.get("authorizer_refresh_token", "")).encode(), found.refresh_token.encode()
    ):
        raise FakeError(61023, "refresh_token is invalid")
    token = fake.issue_token("authorizer_access_token", authoriser)
    return Response.json(
        {
            "authorizer_access_token": token.value,
            "expires_in": TOKEN_SECONDS,
            "authorizer_refresh_token": found.refresh_token,
        }
    )


@route("POST", "cgi-bin/component/api_get_authorizer_info")
def authorizer_info(fake: FakeWeChat, request: Request) -> Response:
    _target, body = _component_call(fake, request)
    authoriser = str(body.get("authorizer_appid", ""))
    found = _live_authorisation(fake, authoriser)
    app = fake.app(authoriser)
    return Response.json(
        {
            "authorizer_info": {
                "nick_name": app.name or authoriser,
                "head_img": "",
                # 0 subscription, 1 subscription upgraded from an old account, 2 service.
                "service_type_info": {"id": 2 if app.kind == "service" else 0},
                # -1 unverified, 0 WeChat verification (微信认证).
                "verify_type_info": {"id": 0 if app.verified else -1},
                "user_name": "gh_" + hashlib.sha256(authoriser.encode()).hexdigest()[:12],
                "principal_name": (app.name or authoriser) + " 有限公司",
                "alias": "",
                "qrcode_url": "",
            },
            "authorization_info": {
                "authorizer_appid": authoriser,
                "func_info": [{"funcscope_category": {"id": i}} for i in found.func_ids],
            },
        }
    )


# --- The authorisation page (mp.weixin.qq.com) ---------------------------------------


def _check_domain(url: str, domains: set[str], errcode: int) -> None:
    host = urlsplit(url).hostname or ""
    if host not in domains:
        raise FakeError(errcode, f"redirect_uri domain {host!r} is not registered")


@route("GET", "cgi-bin/componentloginpage")
def login_page(fake: FakeWeChat, request: Request) -> Response:
    """WeChat's page where the merchant's administrator scans and confirms.

    The fake shows one button per official account it knows (the platform's own
    service account and the component excepted): pressing it stands for scanning with
    that account's administrator's WeChat and confirming.
    """
    target = component(fake)
    if request.arg("component_appid") != target.app_id:
        return Response.html("<p>component_appid 错误</p>", 400)
    redirect_uri = request.arg("redirect_uri")
    try:
        _check_domain(redirect_uri, target.login_domains, 61011)
    except FakeError as error:
        return Response.html(f"<p>{html.escape(error.errmsg)}</p>", 400)
    pre_auth_code = request.arg("pre_auth_code")
    with fake.lock:
        apps = [a for a in fake.apps.values() if a.app_id != target.app_id]
    buttons = "".join(
        "<form method='post' action='/cgi-bin/componentloginpage/confirm'>"
        f"<input type='hidden' name='authorizer' value='{html.escape(a.app_id)}'>"
        f"<input type='hidden' name='pre_auth_code' value='{html.escape(pre_auth_code)}'>"
        f"<input type='hidden' name='redirect_uri' value='{html.escape(redirect_uri)}'>"
        f"<button type='submit'>扫码并确认授权 {html.escape(a.name or a.app_id)}</button>"
        "</form>"
        for a in apps
    )
    return Response.html(
        "<!doctype html><meta charset='utf-8'><title>公众号授权</title>"
        f"<h1>授权给第三方平台 {html.escape(target.app_id)}</h1>{buttons}"
    )


@route("POST", "cgi-bin/componentloginpage/confirm")
def login_confirm(fake: FakeWeChat, request: Request) -> Response:
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    target = component(fake)
    redirect_uri = form.get("redirect_uri", "")
    try:
        _check_domain(redirect_uri, target.login_domains, 61011)
        code = authorise(fake, form.get("authorizer", ""), form.get("pre_auth_code", ""))
    except FakeError as error:
        return Response.html(f"<p>{html.escape(error.errmsg)}</p>", 400)
    joiner = "&" if "?" in redirect_uri else "?"
    return Response.redirect(
        f"{redirect_uri}{joiner}auth_code={quote(code)}&expires_in={AUTH_CODE_SECONDS}"
    )


# --- OAuth on an authoriser's behalf ------------------------------------------------

# Our own service account's OAuth (``oauth.py``) answers the same path without
# ``component_appid``: whatever was registered before this module keeps those requests.
_PLAIN_AUTHORIZE = ROUTES.get(("GET", "connect/oauth2/authorize"))


@route("GET", "connect/oauth2/authorize")
def authorize(fake: FakeWeChat, request: Request) -> Response:
    if not request.query.get("component_appid"):
        if _PLAIN_AUTHORIZE is None:
            raise FakeError(41002, "missing component_appid")
        return _PLAIN_AUTHORIZE(fake, request)
    target = component(fake)
    if request.query["component_appid"] != target.app_id:
        raise FakeError(61004, "invalid component_appid")
    authoriser = request.arg("appid")
    _live_authorisation(fake, authoriser)
    redirect_uri = request.arg("redirect_uri")
    _check_domain(redirect_uri, target.redirect_domains, 10003)
    scope = request.query.get("scope", "")
    if scope not in ("snsapi_base", "snsapi_userinfo"):
        raise FakeError(10005, "invalid scope")
    # The same person and the same single-use, expiring codes as our own OAuth's
    # (``oauth.py``), the code bound to the component it was asked through.
    with fake.lock:
        default = _state(fake)["person"]
    user = oauth.person(request, default)
    code = oauth.issue_code(fake, authoriser, user, scope, target.app_id)
    joiner = "&" if "?" in redirect_uri else "?"
    state = request.query.get("state", "")
    return Response.redirect(
        f"{redirect_uri}{joiner}code={quote(code)}&state={quote(state)}&appid={authoriser}"
    )


@route("GET", "sns/oauth2/component/access_token")
def component_oauth_token(fake: FakeWeChat, request: Request) -> Response:
    target = component(fake)
    if request.arg("component_appid") != target.app_id:
        raise FakeError(61004, "invalid component_appid")
    fake.check_token(request.arg("component_access_token"), "component_access_token")
    if request.query.get("grant_type") != "authorization_code":
        raise FakeError(40002, "invalid grant_type")
    grant = oauth.take_code(fake, request.arg("code"), request.arg("appid"), target.app_id)
    return Response.json(
        {
            "access_token": secrets.token_urlsafe(24),
            "expires_in": TOKEN_SECONDS,
            "refresh_token": secrets.token_urlsafe(24),
            "openid": openid(grant.app_id, grant.user),
            "scope": grant.scope,
        }
    )
