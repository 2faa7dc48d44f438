"""A local WeChat for the tests and the demo: one HTTP server standing in for
``api.weixin.qq.com`` and ``open.weixin.qq.com``, enforcing what WeChat enforces.

A fake that accepts anything proves nothing, so this one keeps WeChat's state and
rules: registered apps with their secrets, account types and authorised redirect
domains; tokens that expire (on the fake's own clock, which a test may move on with
``advance``) and die when the next one of their kind is fetched; single-use codes
that expire after five minutes; a whitelist of caller addresses. It answers as WeChat
does: HTTP 200 with ``{"errcode": N, "errmsg": "..."}`` for every refusal.

The endpoints live in one module per area (``oauth``, ``component``, ``jsapi``), each
registering its routes with ``route``; this module holds the server, the state every
area shares, and ``cgi-bin/token`` (our own service account's access token).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

TOKEN_SECONDS = 7200
CODE_SECONDS = 300


class FakeError(Exception):
    """A refusal, answered as WeChat answers it: HTTP 200, ``errcode`` and ``errmsg``."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass
class App:
    """An official account (or our third-party platform) as WeChat knows it."""

    app_id: str
    secret: str
    # "service" (服务号) or "subscription" (订阅号); parametric QR codes and template
    # messages need a verified service account (otherwise 48001).
    kind: str = "service"
    verified: bool = True
    # The web-authorisation domain (网页授权域名): OAuth redirects only there.
    redirect_domains: set[str] = field(default_factory=lambda: {"127.0.0.1", "localhost"})
    # Caller addresses allowed to fetch tokens with the secret (empty: any).
    ip_whitelist: set[str] = field(default_factory=set)
    name: str = ""


@dataclass
class Token:
    value: str
    kind: str  # "access_token", "component_access_token", "authorizer_access_token", ...
    owner: str  # the app id it was issued to
    expires_at: float


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    remote_addr: str
    headers: dict[str, str]

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError as exc:
            raise FakeError(47001, "data format error") from exc
        if not isinstance(value, dict):
            raise FakeError(47001, "data format error")
        return value

    def arg(self, name: str) -> str:
        """A required query argument (WeChat answers 41xxx "missing" without it)."""
        value = self.query.get(name, "")
        if not value:
            raise FakeError(41002 if name == "appid" else 40097, f"missing {name}")
        return value


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, payload: dict[str, Any]) -> Response:
        body = json.dumps(payload, ensure_ascii=False).encode()
        return cls(200, body, [("Content-Type", "application/json; charset=utf-8")])

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(302, b"", [("Location", location)])

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode(), [("Content-Type", "text/html; charset=utf-8")])


Handler = Callable[["FakeWeChat", Request], Response]
ROUTES: dict[tuple[str, str], Handler] = {}


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``method`` on ``path`` (no leading slash, as WeChat's)."""

    def register(handler: Handler) -> Handler:
        ROUTES[(method, path.strip("/"))] = handler
        return handler

    return register


class FakeWeChat:
    """WeChat's state, and the HTTP server answering for it.

    Thread-safe: the server answers on threads, and tests read and change the state
    from theirs. Each area keeps its own state in ``self.area(name)`` (a dict), so that
    ``reset`` forgets everything at once.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._offset = 0.0
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # --- State --------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.apps: dict[str, App] = {}
            self.tokens: dict[str, Token] = {}
            self.areas: dict[str, dict[str, Any]] = {}
            # Every call, for tests that count them (a token fetched once, not per request).
            self.calls: list[tuple[str, str]] = []
            self._offset = 0.0

    def area(self, name: str) -> dict[str, Any]:
        with self.lock:
            return self.areas.setdefault(name, {})

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock on (tokens and codes expire without waiting)."""
        with self.lock:
            self._offset += seconds

    def register_app(self, app_id: str, secret: str, **details: Any) -> App:
        with self.lock:
            app = self.apps[app_id] = App(app_id, secret, **details)
            return app

    def app(self, app_id: str) -> App:
        with self.lock:
            app = self.apps.get(app_id)
        if app is None:
            raise FakeError(40013, "invalid appid")
        return app

    def issue_token(self, kind: str, owner: str, seconds: int = TOKEN_SECONDS) -> Token:
        """A new token of ``kind`` for ``owner``; the pair's previous one dies, as at WeChat."""
        with self.lock:
            for value, token in list(self.tokens.items()):
                if token.kind == kind and token.owner == owner:
                    del self.tokens[value]
            token = Token(secrets.token_urlsafe(32), kind, owner, self.now() + seconds)
            self.tokens[token.value] = token
            return token

    def check_token(self, value: str, kind: str) -> Token:
        """The live token ``value`` of ``kind``: 40001 unknown or superseded, 42001 expired."""
        with self.lock:
            token = self.tokens.get(value)
        if token is None or token.kind != kind:
            raise FakeError(40001, "invalid credential, access_token is invalid or not latest")
        if token.expires_at <= self.now():
            raise FakeError(42001, "access_token expired")
        return token

    def check_caller(self, app: App, request: Request) -> None:
        if app.ip_whitelist and request.remote_addr not in app.ip_whitelist:
            raise FakeError(40164, f"invalid ip {request.remote_addr}, not in whitelist")

    def check_secret(self, app: App, secret: str) -> None:
        if not secrets.compare_digest(app.secret.encode(), secret.encode()):
            raise FakeError(40125, "invalid appsecret")

    # --- Server -------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake WeChat is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeWeChat:
        self._server = make_server(host, port, self.wsgi, _ThreadingServer, _QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = Request(
            method=environ["REQUEST_METHOD"],
            path=environ.get("PATH_INFO", "").strip("/"),
            query={k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()},
            body=environ["wsgi.input"].read(length) if length else b"",
            remote_addr=environ.get("REMOTE_ADDR", ""),
            headers={
                k[5:].replace("_", "-").lower(): v
                for k, v in environ.items()
                if k.startswith("HTTP_")
            },
        )
        with self.lock:
            self.calls.append((request.method, request.path))
        handler = ROUTES.get((request.method, request.path))
        if handler is None:
            response = Response.json({"errcode": 404, "errmsg": f"no such api {request.path}"})
        else:
            try:
                response = handler(self, request)
            except FakeError as error:
                response = Response.json({"errcode": error.errcode, "errmsg": error.errmsg})
        start_response(f"{response.status} {_REASONS.get(response.status, '')}", response.headers)
        return [response.body]


_REASONS = {200: "OK", 302: "Found", 400: "Bad Request", 404: "Not Found"}


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def query_string(**values: str) -> str:
    return urlencode({k: v for k, v in values.items() if v is not None})


# --- Our own service account's access token -----------------------------------------


@route("GET", "cgi-bin/token")
def access_token(fake: FakeWeChat, request: Request) -> Response:
    """``cgi-bin/token?grant_type=client_credential&appid=&secret=``."""
    if request.query.get("grant_type") != "client_credential":
        raise FakeError(40002, "invalid grant_type")
    app = fake.app(request.arg("appid"))
    fake.check_secret(app, request.arg("secret"))
    fake.check_caller(app, request)
    token = fake.issue_token("access_token", app.app_id)
    return Response.json({"access_token": token.value, "expires_in": TOKEN_SECONDS})


@route("GET", "cgi-bin/getcallbackip")
def callback_ips(fake: FakeWeChat, request: Request) -> Response:
    """The simplest call made with an access token (tests of the token's life use it)."""
    fake.check_token(request.arg("access_token"), "access_token")
    return Response.json({"ip_list": ["127.0.0.1"]})
