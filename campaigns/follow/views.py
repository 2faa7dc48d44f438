"""The message URL of every authorised official account (消息与事件接收 URL).

WeChat sends each authorised account's messages and events to
``/wechat/component/<app id>/messages`` (the platform's setting is
``…/wechat/component/$APPID$/messages``), encrypted and signed with the platform's
token and key, as the component's own pushes are (``core.wechat.component.decrypt``).

What it does, within WeChat's five seconds and without waiting on any lock:

- refuses (403) a body not signed with our token (``msg_signature`` over the
  ciphertext) or a ``timestamp`` outside the replay window;
- applies an event once: the first delivery of ``FromUserName`` + ``CreateTime`` (and
  the event's name) for the account takes a key in Redis, every later one (WeChat
  retries three times; a replay) gets ``success`` and nothing else;
- ``subscribe`` with ``EventKey qrscene_<scene>`` (a new follower from one of our
  codes): queues the credit (``tasks.credit_follow``); to a follower we cannot tie to
  a consumer yet (a poster scan by someone never seen) it answers with a passive
  reply, a text with a sign-in link (decision 0192); ``SCAN`` (already a follower)
  pays nothing; ``unsubscribe`` is noted for the stats. Everything else gets ``success``.
"""

from __future__ import annotations

import logging
import secrets
import time

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils.translation import gettext as _
from django.utils.translation import override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import WeChatIdentity
from campaigns.follow import services
from campaigns.follow.tasks import credit_follow, note_unfollow
from core.wechat import component as wechat
from core.wechat import component_enabled
from tenants.models import OfficialAccount, OfficialAccountStatus

logger = logging.getLogger(__name__)

# WeChat signs the current time; a delivery whose signed time is further off than this
# is a replay (its retries come within about 15 seconds).
REPLAY_WINDOW_SECONDS = 300
# The dedup key outlives the window: a replay inside it finds the key.
SEEN_SECONDS = 2 * REPLAY_WINDOW_SECONDS
# Which merchant an account is: read once a minute per process at most.
ACCOUNT_CACHE_SECONDS = 60


def _text(status: int, body: str) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain")


def _merchant_of(app_id: str) -> tuple[int, str] | None:
    """(merchant id, schema) of the live authorisation of ``app_id``, cached briefly."""
    key = f"wechat:account-merchant:{app_id}"
    found = cache.get(key)
    if found is None:
        row = (
            OfficialAccount.objects.filter(app_id=app_id, status=OfficialAccountStatus.AUTHORIZED)
            .values_list("merchant_id", "merchant__schema_name")
            .first()
        )
        found = list(row) if row else []
        cache.set(key, found, ACCOUNT_CACHE_SECONDS)
    return (int(found[0]), str(found[1])) if found else None


def _passive_reply(fields: dict[str, str], link: str, nonce: str) -> HttpResponse:
    with override("zh-hans"):
        text = _("Thank you for following! Tap to sign in and collect your points: %(link)s") % {
            "link": link
        }
    now = str(int(time.time()))
    xml = (
        f"<xml><ToUserName><![CDATA[{fields.get('FromUserName', '')}]]></ToUserName>"
        f"<FromUserName><![CDATA[{fields.get('ToUserName', '')}]]></FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content></xml>"
    )
    return HttpResponse(
        wechat.encrypted_reply(xml, nonce or secrets.token_hex(5), now),
        content_type="application/xml",
    )


@csrf_exempt  # WeChat's servers post here; the message signature is the authentication
@require_POST
def account_messages(request: HttpRequest, app_id: str) -> HttpResponse:
    if not component_enabled():
        return _text(404, "not configured")
    timestamp = request.GET.get("timestamp", "")
    nonce = request.GET.get("nonce", "")
    try:
        fields = wechat.decrypt(
            request.body, request.GET.get("msg_signature", ""), timestamp, nonce
        )
    except wechat.PushRefused as refused:
        logger.warning("WeChat message for %s refused: %s", app_id, refused)
        return HttpResponseForbidden("bad signature", content_type="text/plain")
    # The timestamp is under the signature: an old one is a recorded delivery replayed.
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        logger.warning("WeChat message for %s outside the replay window", app_id)
        return HttpResponseForbidden("stale", content_type="text/plain")
    if fields.get("MsgType") != "event":
        return _text(200, "success")
    event = fields.get("Event", "").lower()
    openid = fields.get("FromUserName", "")
    created = fields.get("CreateTime", "")
    if event not in ("subscribe", "unsubscribe") or not openid or not created.isdigit():
        return _text(200, "success")  # SCAN: already a follower, no points
    merchant = _merchant_of(app_id)
    if merchant is None:
        return _text(200, "success")  # an account no longer authorised to us
    merchant_id, schema = merchant
    # WeChat's key for a retried event is FromUserName + CreateTime; the event's name is
    # added because an unfollow and a follow again can fall in the same second.
    seen = f"wechat:event:{app_id}:{openid}:{created}:{event}"
    if not cache.add(seen, 1, SEEN_SECONDS):
        return _text(200, "success")
    headers = {"_schema_name": schema}
    try:
        if event == "unsubscribe":
            note_unfollow.apply_async((openid, int(created)), headers=headers)
            return _text(200, "success")
        scene = fields.get("EventKey", "").removeprefix("qrscene_")
        if not scene:
            return _text(200, "success")  # followed from a search, not one of our codes
        credit_follow.apply_async(
            (merchant_id, app_id, openid, scene, int(created)), headers=headers
        )
    except Exception:
        # Not "success": WeChat delivers again, and that delivery must be applied.
        cache.delete(seen)
        logger.exception("WeChat event for %s could not be queued", app_id)
        return _text(500, "retry")
    if not _known(app_id, openid):
        link = services.reply_link(merchant_id, app_id, openid, scene)
        return _passive_reply(fields, link, nonce)
    return _text(200, "success")


def _known(app_id: str, openid: str) -> bool:
    return WeChatIdentity.objects.filter(app_id=app_id, openid=openid).exists()
