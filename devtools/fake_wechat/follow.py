"""The fake's official accounts as their followers see them: parametric QR codes,
following and unfollowing, and the events WeChat pushes about them; template messages.

What WeChat enforces, enforced here on the fake's clock:

- ``cgi-bin/qrcode/create``: only for a verified service account (48001 otherwise);
  ``QR_STR_SCENE`` lives ``expire_seconds`` (at most 30 days), ``QR_LIMIT_STR_SCENE`` is
  permanent and limited in number per account (45029 past it); a scene is 1 to 64
  characters (40009 otherwise);
- a person long-pressing a code (``scan``): an expired or unknown ticket does nothing
  (``QrExpired``, what WeChat's page says); a person who does not follow the account
  follows it and WeChat pushes ``subscribe`` with ``EventKey qrscene_<scene>``; one who
  already follows gets ``SCAN`` with ``EventKey <scene>``; ``unfollow`` pushes
  ``unsubscribe``;
- each event goes, signed and AES-encrypted with the platform's token and key, to the
  platform's message URL for the account (``…/$APPID$/…``), as WeChat sends it;
  ``deliver`` sends the same bytes again (WeChat retries), ``read_reply`` decrypts a
  passive reply and checks its signature;
- ``cgi-bin/message/template/send``: a verified service account only (48001), a
  follower of it only (43004), at most ``template_quota`` a day per account (45009).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import xmltodict
from wechatpy.crypto import WeChatCrypto

from devtools.fake_wechat import component as platform
from devtools.fake_wechat.server import FakeError, FakeWeChat, Request, Response, route

MAX_TEMPORARY_SECONDS = 30 * 24 * 3600
MAX_PERMANENT_CODES = 100_000
TEMPLATE_QUOTA = 100_000
DAY = 24 * 3600


class QrExpired(Exception):
    """The person long-pressed a code WeChat no longer knows (expired or never made)."""


@dataclass
class QrCode:
    ticket: str
    owner: str  # the account's app id
    scene: str
    permanent: bool
    expires_at: float  # 0 for a permanent code


def _state(fake: FakeWeChat) -> dict[str, Any]:
    area = fake.area("follow")
    area.setdefault("codes", {})
    area.setdefault("followers", {})  # app id -> set of people
    area.setdefault("sent", [])  # template messages: (app id, openid, template, data)
    area.setdefault("quota", {})  # app id -> (day, count)
    area.setdefault("template_quota", TEMPLATE_QUOTA)
    return area


def _verified_service(fake: FakeWeChat, request: Request) -> str:
    """The account whose token made the call, if it may use the service APIs."""
    value = request.arg("access_token")
    with fake.lock:
        known = fake.tokens.get(value)
    # An account's own token, or one a third-party platform holds for it.
    kind = known.kind if known is not None else "access_token"
    token = fake.check_token(
        value, kind if kind in ("access_token", "authorizer_access_token") else "access_token"
    )
    app = fake.app(token.owner)
    if app.kind != "service" or not app.verified:
        raise FakeError(48001, "api unauthorized")
    return app.app_id


@route("POST", "cgi-bin/qrcode/create")
def qrcode_create(fake: FakeWeChat, request: Request) -> Response:
    owner = _verified_service(fake, request)
    body = request.json()
    action = body.get("action_name")
    scene_info = (body.get("action_info") or {}).get("scene") or {}
    if action in ("QR_STR_SCENE", "QR_LIMIT_STR_SCENE"):
        scene = str(scene_info.get("scene_str", ""))
        if not 1 <= len(scene) <= 64:
            raise FakeError(40009, "invalid scene_str size")
    elif action in ("QR_SCENE", "QR_LIMIT_SCENE"):
        scene = str(scene_info.get("scene_id", ""))
    else:
        raise FakeError(40053, "invalid action_name")
    permanent = action.startswith("QR_LIMIT")
    seconds = min(int(body.get("expire_seconds") or 60), MAX_TEMPORARY_SECONDS)
    ticket = "gQ" + secrets.token_urlsafe(30)
    with fake.lock:
        codes = _state(fake)["codes"]
        if permanent:
            made = sum(1 for c in codes.values() if c.owner == owner and c.permanent)
            if made >= MAX_PERMANENT_CODES:
                raise FakeError(45029, "qrcode count out of limit")
        codes[ticket] = QrCode(
            ticket, owner, scene, permanent, 0 if permanent else fake.now() + seconds
        )
    answer: dict[str, Any] = {"ticket": ticket, "url": f"http://weixin.qq.com/q/{ticket[:20]}"}
    if not permanent:
        answer["expire_seconds"] = seconds
    return Response.json(answer)


def _live_code(fake: FakeWeChat, ticket: str) -> QrCode:
    with fake.lock:
        code = _state(fake)["codes"].get(ticket)
    if code is None or (not code.permanent and code.expires_at <= fake.now()):
        raise QrExpired(ticket)
    return code


@route("GET", "cgi-bin/showqrcode")
def show_qrcode(fake: FakeWeChat, request: Request) -> Response:
    """The code's picture (a small SVG here, naming the ticket for the browser tests)."""
    try:
        code = _live_code(fake, request.arg("ticket"))
    except QrExpired:
        return Response(404, b"", [("Content-Type", "text/plain")])
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='240' height='240'>"
        "<rect width='240' height='240' fill='#fff' stroke='#000' stroke-width='8'/>"
        f"<text x='20' y='120' font-size='12' data-ticket='{code.ticket}'>QR {code.scene[:12]}"
        "</text></svg>"
    )
    return Response(200, svg.encode(), [("Content-Type", "image/svg+xml")])


# --- People following ----------------------------------------------------------------


def follows(fake: FakeWeChat, app_id: str, person: str) -> bool:
    with fake.lock:
        return person in _state(fake)["followers"].get(app_id, set())


def scan(fake: FakeWeChat, ticket: str, person: str) -> platform.Push:
    """``person`` long-presses the code and follows (or, following already, just opens)."""
    code = _live_code(fake, ticket)
    with fake.lock:
        followers = _state(fake)["followers"].setdefault(code.owner, set())
        new = person not in followers
        followers.add(person)
    if new:
        return push_event(fake, code.owner, person, "subscribe", f"qrscene_{code.scene}")
    return push_event(fake, code.owner, person, "SCAN", code.scene)


def unfollow(fake: FakeWeChat, app_id: str, person: str) -> platform.Push:
    with fake.lock:
        _state(fake)["followers"].setdefault(app_id, set()).discard(person)
    return push_event(fake, app_id, person, "unsubscribe", "")


def follow_plainly(fake: FakeWeChat, app_id: str, person: str) -> platform.Push:
    """Following from a search or an article: ``subscribe`` with no scene."""
    with fake.lock:
        _state(fake)["followers"].setdefault(app_id, set()).add(person)
    return push_event(fake, app_id, person, "subscribe", "")


def original_id(app_id: str) -> str:
    return "gh_" + hashlib.sha256(app_id.encode()).hexdigest()[:12]


def push_event(
    fake: FakeWeChat, app_id: str, person: str, event: str, event_key: str
) -> platform.Push:
    """One event of the account, as WeChat sends it to the platform's message URL."""
    target = platform.component(fake)
    if not target.account_message_url:
        raise FakeError(61004, "the platform has no message URL for accounts")
    now = str(int(fake.now()))
    fields = {
        "ToUserName": original_id(app_id),
        "FromUserName": platform.openid(app_id, person),
        "CreateTime": now,
        "MsgType": "event",
        "Event": event,
    }
    if event_key:
        fields["EventKey"] = event_key
    xml = "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>"
    return send(fake, app_id, xml, now)


def send(fake: FakeWeChat, app_id: str, xml: str, timestamp: str) -> platform.Push:
    """Encrypt, sign and POST one message of ``app_id`` (a test may send a crafted one)."""
    target = platform.component(fake)
    crypto = WeChatCrypto(target.token, target.aes_key, target.app_id)
    nonce = secrets.token_hex(5)
    encrypted = xmltodict.parse(crypto.encrypt_message(xml, nonce, timestamp))["xml"]
    body = (
        f"<xml><ToUserName><![CDATA[{original_id(app_id)}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted['Encrypt']}]]></Encrypt></xml>"
    ).encode()
    query = urlencode(
        {
            "signature": hashlib.sha1(
                "".join(sorted([target.token, timestamp, nonce])).encode()
            ).hexdigest(),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": "",
            "encrypt_type": "aes",
            "msg_signature": encrypted["MsgSignature"],
        }
    )
    url = target.account_message_url.replace("$APPID$", app_id)
    sent = platform.Push(f"{url}?{query}", body)
    with fake.lock:
        platform._state(fake)["pushes"].append(sent)
    return platform.deliver(sent)


def read_reply(fake: FakeWeChat, sent: platform.Push) -> dict[str, str]:
    """The passive reply the platform answered with, decrypted as WeChat does (its
    signature checked); empty for ``success``."""
    if sent.answer in ("", "success"):
        return {}
    target = platform.component(fake)
    envelope = xmltodict.parse(sent.answer)["xml"]
    crypto = WeChatCrypto(target.token, target.aes_key, target.app_id)
    plain = crypto.decrypt_message(
        sent.answer, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
    )
    return {str(k): str(v) for k, v in xmltodict.parse(plain)["xml"].items()}


# --- Template messages -----------------------------------------------------------------


def set_template_quota(fake: FakeWeChat, quota: int) -> None:
    with fake.lock:
        _state(fake)["template_quota"] = quota


def sent_messages(fake: FakeWeChat) -> list[tuple[str, str, str, dict[str, Any]]]:
    with fake.lock:
        return list(_state(fake)["sent"])


def follow_as(fake: FakeWeChat, app_id: str, person: str) -> None:
    """``person`` follows ``app_id`` with no event (set-up for message tests)."""
    with fake.lock:
        _state(fake)["followers"].setdefault(app_id, set()).add(person)


@route("POST", "cgi-bin/message/template/send")
def template_send(fake: FakeWeChat, request: Request) -> Response:
    owner = _verified_service(fake, request)
    body = request.json()
    openid = str(body.get("touser", ""))
    template = str(body.get("template_id", ""))
    if not template:
        raise FakeError(40037, "invalid template_id")
    with fake.lock:
        state = _state(fake)
        people = state["followers"].get(owner, set())
        if not any(platform.openid(owner, p) == openid for p in people):
            raise FakeError(43004, "require subscribe")
        day = int(fake.now() // DAY)
        counted_day, count = state["quota"].get(owner, (day, 0))
        if counted_day != day:
            count = 0
        if count >= state["template_quota"]:
            raise FakeError(45009, "reach max api daily quota limit")
        state["quota"][owner] = (day, count + 1)
        state["sent"].append((owner, openid, template, dict(body.get("data") or {})))
        msgid = len(state["sent"])
    return Response.json({"errcode": 0, "errmsg": "ok", "msgid": msgid})
