"""Web authorisation: ``connect/oauth2/authorize`` and ``sns/oauth2/access_token``.

Who is "in WeChat" is a cookie on the fake's own address (``fake_wechat_user``), as the
real WeChat knows its signed-in user: a browser without one becomes a new WeChat user.
A test without a browser names the user with the ``user`` query argument. OpenIDs are
per app, as WeChat's are: the same user has a different OpenID under each app.

Rules enforced as WeChat enforces them: the app must exist, the redirect must go to the
app's web-authorisation domain (else WeChat's error page, 10003), the scope must be one
of the two, the code expires after 5 minutes and works once (40163 when reused, 40029
when unknown or another app's), and the exchange needs the app's secret.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

from devtools.fake_wechat.server import (
    CODE_SECONDS,
    FakeError,
    FakeWeChat,
    Request,
    Response,
    route,
)

USER_COOKIE = "fake_wechat_user"
SCOPES = ("snsapi_base", "snsapi_userinfo")


@dataclass
class OAuthCode:
    app_id: str
    user: str
    scope: str
    expires_at: float
    # Set when the code was asked for through a third-party platform (its own exchange).
    component_app_id: str = ""
    used: bool = False


def openid(user: str, app_id: str) -> str:
    """The user's OpenID under ``app_id``: stable, and different for every app."""
    return "o" + hashlib.sha256(f"{app_id}:{user}".encode()).hexdigest()[:27]


def unionid(user: str) -> str:
    return "u" + hashlib.sha256(f"union:{user}".encode()).hexdigest()[:27]


def codes(fake: FakeWeChat) -> dict[str, OAuthCode]:
    return fake.area("oauth").setdefault("codes", {})


def snapshot_users(fake: FakeWeChat) -> set[str]:
    """Users who only see WeChat's snapshot page for ``snsapi_userinfo``."""
    return fake.area("oauth").setdefault("snapshot_users", set())


def issue_code(
    fake: FakeWeChat, app_id: str, user: str, scope: str, component_app_id: str = ""
) -> str:
    code = secrets.token_hex(16)
    with fake.lock:
        codes(fake)[code] = OAuthCode(
            app_id, user, scope, fake.now() + CODE_SECONDS, component_app_id
        )
    return code


def take_code(fake: FakeWeChat, code: str, app_id: str, component_app_id: str = "") -> OAuthCode:
    """The code's grant, used up: 40029 unknown or another app's, 40163 used, 42003 expired."""
    with fake.lock:
        grant = codes(fake).get(code)
        if grant is None or grant.app_id != app_id or grant.component_app_id != component_app_id:
            raise FakeError(40029, "invalid code")
        if grant.used:
            raise FakeError(40163, "code been used")
        if grant.expires_at <= fake.now():
            raise FakeError(42003, "code expired")
        grant.used = True
        return grant


def person(request: Request, default: str) -> str:
    """Who is using WeChat: named by the test (``user``), else the browser's cookie on
    the fake's address, else ``default``."""
    cookie = SimpleCookie(request.headers.get("cookie", ""))
    return request.query.get("user") or (
        cookie[USER_COOKIE].value if USER_COOKIE in cookie else default
    )


def _error_page(message: str, errcode: int) -> Response:
    # WeChat shows an error page in the browser rather than redirecting back.
    return Response.html(f"<h1>{message}</h1><p>errcode {errcode}</p>", 400)


@route("GET", "connect/oauth2/authorize")
def authorize(fake: FakeWeChat, request: Request) -> Response:
    app_id = request.query.get("appid", "")
    with fake.lock:
        app = fake.apps.get(app_id)
    if app is None:
        return _error_page("appid 错误", 10002)
    redirect_uri = request.query.get("redirect_uri", "")
    host = urlsplit(redirect_uri).hostname or ""
    if not redirect_uri or host not in app.redirect_domains:
        return _error_page("redirect_uri 域名与后台配置不一致", 10003)
    scope = request.query.get("scope", "")
    if scope not in SCOPES or request.query.get("response_type") != "code":
        return _error_page("scope 参数错误或没有 scope 权限", 10005)
    state = request.query.get("state", "")
    if len(state.encode()) > 128:
        return _error_page("state 参数过长", 10016)
    user = person(request, secrets.token_hex(8))
    code = issue_code(fake, app_id, user, scope, request.query.get("component_appid", ""))
    separator = "&" if "?" in redirect_uri else "?"
    response = Response.redirect(
        f"{redirect_uri}{separator}{urlencode({'code': code, 'state': state})}"
    )
    response.headers.append(("Set-Cookie", f"{USER_COOKIE}={user}; Path=/; HttpOnly"))
    return response


@route("GET", "sns/oauth2/access_token")
def access_token(fake: FakeWeChat, request: Request) -> Response:
    """``sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code``."""
    if request.query.get("grant_type") != "authorization_code":
        raise FakeError(40002, "invalid grant_type")
    app = fake.app(request.arg("appid"))
    fake.check_secret(app, request.arg("secret"))
    grant = take_code(fake, request.arg("code"), app.app_id)
    token = fake.issue_token(f"sns:{grant.user}", app.app_id)
    answer: dict[str, object] = {
        "access_token": token.value,
        "expires_in": 7200,
        "refresh_token": secrets.token_urlsafe(24),
        "openid": openid(grant.user, app.app_id),
        "scope": grant.scope,
    }
    if grant.scope == "snsapi_userinfo":
        with fake.lock:
            snapshot = grant.user in snapshot_users(fake)
        if snapshot:
            answer["is_snapshotuser"] = 1
        else:
            answer["unionid"] = unionid(grant.user)
    return Response.json(answer)
