"""The JS-SDK's ticket: ``cgi-bin/ticket/getticket?access_token=&type=jsapi``.

As at WeChat: the access token must be the live one of its app (40001 when unknown or
superseded by a newer fetch, 42001 when expired); ``type`` is ``jsapi`` or ``wx_card``;
each fetch issues a new ticket for two hours. ``verify`` checks a page's signature the
way WeChat's JS side does, with the ticket it issued last, so that a test can tell a
configuration that WeChat would accept.
"""

from __future__ import annotations

import hashlib

from devtools.fake_wechat.server import (
    TOKEN_SECONDS,
    FakeError,
    FakeWeChat,
    Request,
    Response,
    route,
)

TYPES = ("jsapi", "wx_card")


@route("GET", "cgi-bin/ticket/getticket")
def get_ticket(fake: FakeWeChat, request: Request) -> Response:
    token = fake.check_token(request.arg("access_token"), "access_token")
    kind = request.query.get("type", "")
    if kind not in TYPES:
        raise FakeError(40097, "invalid args")
    ticket = fake.issue_token(f"ticket:{kind}", token.owner)
    return Response.json(
        {"errcode": 0, "errmsg": "ok", "ticket": ticket.value, "expires_in": TOKEN_SECONDS}
    )


def verify(
    fake: FakeWeChat, app_id: str, url: str, nonce_str: str, timestamp: int, signature: str
) -> bool:
    """Whether WeChat would accept ``wx.config`` with this signature for ``url`` now."""
    with fake.lock:
        live = [
            token
            for token in fake.tokens.values()
            if token.kind == "ticket:jsapi" and token.owner == app_id
        ]
    if not live or live[0].expires_at <= fake.now():
        return False
    plain = f"jsapi_ticket={live[0].value}&noncestr={nonce_str}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(plain.encode()).hexdigest() == signature
