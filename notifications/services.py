"""Notices to consumers, each at most once, with opt-outs: a WeChat template message
through our service account to a consumer who follows it, else SMS (``accounts.sms``).

At most once rather than at least once: the notice row is committed first and the
message sent on commit, so a gateway failure loses that one reminder instead of texting
the consumer again on every run. WeChat's refusals (43004 not a follower, 45009 the
day's quota, 48001) are recorded on the notice and the SMS goes instead; the template
messages are throttled to ``WECHAT_NOTICES_PER_SECOND`` across processes.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User, WeChatIdentity
from accounts.sms import send_sms
from core import wechat
from core.db import connection
from core.wechat import WeChatError, platform
from notifications.models import ConsumerPreference, NoticeChannel, NoticeKind, SmsNotice
from points.models import Lot
from redemption.models import Order

logger = logging.getLogger(__name__)


def preferences(consumer: User) -> ConsumerPreference:
    found = ConsumerPreference.objects.filter(consumer=consumer).first()
    return found or ConsumerPreference(consumer=consumer)


def set_preferences(
    consumer: User, *, expiry_reminders: bool | None = None, order_updates: bool | None = None
) -> ConsumerPreference:
    prefs = preferences(consumer)
    if expiry_reminders is not None:
        prefs.expiry_reminders = expiry_reminders
    if order_updates is not None:
        prefs.order_updates = order_updates
    prefs.updated_at = timezone.now()
    prefs.save()
    return prefs


def _claim_notices(kind: str, consumer_id: int, refs: list[int]) -> list[int]:
    """Record notices about ``refs``; returns those recorded now (not already sent)."""
    table = SmsNotice._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (kind, ref, consumer_id, created_at)"
            " SELECT %s, ref, %s, %s FROM unnest(%s::bigint[]) AS ref"
            " ON CONFLICT (kind, ref) DO NOTHING RETURNING ref",
            [kind, consumer_id, timezone.now(), refs],
        )
        return [row[0] for row in cursor.fetchall()]


def _template(kind: str) -> str:
    if kind == NoticeKind.POINTS_EXPIRING:
        return str(settings.WECHAT_TEMPLATE_POINTS_EXPIRING)
    return str(settings.WECHAT_TEMPLATE_ORDER_SHIPPED)


def _our_openid(consumer_id: int) -> str | None:
    return (
        WeChatIdentity.objects.filter(user_id=consumer_id, app_id=settings.WECHAT_APP_ID)
        .values_list("openid", flat=True)
        .first()
    )


def _wait_for_a_slot(limit: int, max_seconds: float = 5.0) -> bool:
    """A place in this second's budget of template messages (Redis, all processes)."""
    deadline = time.monotonic() + max_seconds
    while True:
        key = f"wechat:notices:{int(time.time())}"
        cache.add(key, 0, 5)
        try:
            if cache.incr(key) <= limit:
                return True
        except ValueError:  # the key expired between add and incr: a new second
            continue
        if time.monotonic() > deadline:
            return False
        time.sleep(1.0 - time.time() % 1.0)


def _send_on_commit(
    kind: str,
    refs: list[int],
    consumer_id: int,
    phone: str | None,
    message: str,
    data: dict[str, Any],
    url: str,
) -> None:
    """After the commit: WeChat first when it can, else (or when it refuses) SMS."""

    def record(channel: str, failure: str = "") -> None:
        SmsNotice.objects.filter(kind=kind, ref__in=refs).update(
            channel=channel, failure=failure[:200]
        )

    def send() -> None:
        failure = ""
        openid = _our_openid(consumer_id) if wechat.enabled() else None
        template = _template(kind)
        if openid and template:
            try:
                if not _wait_for_a_slot(settings.WECHAT_NOTICES_PER_SECOND):
                    raise WeChatError(45009, "our own per-second budget is used up")
                platform.call(
                    lambda token: platform.send_template(token, openid, template, data, url)
                )
                record(NoticeChannel.WECHAT)
                return
            except WeChatError as refused:
                failure = f"{refused.errcode} {refused}"
                logger.warning("WeChat notice refused (%s): SMS instead", refused.errcode)
        if not phone:
            record(NoticeChannel.NONE, failure)
            return
        try:
            send_sms(phone, message)
            record(NoticeChannel.SMS, failure)
        except Exception:
            logger.exception("notice SMS to a consumer failed")

    transaction.on_commit(send)


def _local_date(when: datetime) -> str:
    return when.astimezone(ZoneInfo(settings.CONSUMER_TIME_ZONE)).strftime("%Y-%m-%d")


def notify_expiring_points(
    now: datetime | None = None, days: int | None = None, chunk: int = 1000
) -> int:
    """Text each consumer whose points expire within ``days`` once per lot; returns
    the number of SMS sent. Opted-out consumers are skipped (and their lots are not
    marked, so opting back in brings the reminder for lots still ahead)."""
    now = now or timezone.now()
    horizon = now + timedelta(days=days if days is not None else settings.EXPIRY_NOTICE_DAYS)
    lots = (
        Lot.objects.filter(remaining__gt=0, expires_at__gt=now, expires_at__lte=horizon)
        .exclude(
            Exists(SmsNotice.objects.filter(kind=NoticeKind.POINTS_EXPIRING, ref=OuterRef("pk")))
        )
        .exclude(
            Exists(
                ConsumerPreference.objects.filter(
                    consumer=OuterRef("consumer"), expiry_reminders=False
                )
            )
        )
    )
    sent = 0
    last_consumer = 0
    while True:
        rows = list(
            lots.filter(consumer_id__gt=last_consumer)
            .order_by("consumer_id", "expires_at")
            .values_list("consumer_id", "pk", "remaining", "expires_at")[:chunk]
        )
        if not rows:
            return sent
        by_consumer: dict[int, list[tuple[int, int, datetime]]] = defaultdict(list)
        for consumer_id, lot_id, remaining, expires_at in rows:
            by_consumer[consumer_id].append((lot_id, remaining, expires_at))
        if len(rows) == chunk and len(by_consumer) > 1:
            # The last consumer's lots may continue in the next chunk: do them then.
            by_consumer.pop(rows[-1][0])
        phones = dict(User.objects.filter(pk__in=by_consumer).values_list("pk", "phone"))
        for consumer_id, consumer_lots in by_consumer.items():
            sent += _notify_consumer(consumer_id, phones.get(consumer_id), consumer_lots)
        last_consumer = max(by_consumer)


def _notify_consumer(
    consumer_id: int, phone: str | None, lots: list[tuple[int, int, datetime]]
) -> int:
    if not phone and not (wechat.enabled() and _our_openid(consumer_id)):
        return 0
    with transaction.atomic():
        fresh = set(
            _claim_notices(NoticeKind.POINTS_EXPIRING, consumer_id, [lot[0] for lot in lots])
        )
        if not fresh:
            return 0  # another run got there first
        points = sum(remaining for lot_id, remaining, _at in lots if lot_id in fresh)
        first = min(at for lot_id, _r, at in lots if lot_id in fresh)
        with translation.override(settings.LANGUAGE_CODE):
            message = _(
                "%(points)s of your points expire on %(date)s. Spend them in the mall: %(url)s"
            ) % {
                "points": points,
                "date": _local_date(first),
                "url": f"{settings.PUBLIC_BASE_URL}/mall",
            }
        _send_on_commit(
            NoticeKind.POINTS_EXPIRING,
            sorted(fresh),
            consumer_id,
            phone,
            message,
            {
                "first": {"value": message},
                "keyword1": {"value": str(points)},
                "keyword2": {"value": _local_date(first)},
            },
            f"{settings.PUBLIC_BASE_URL}/mall",
        )
    return 1


def order_shipped(order_id: int) -> bool:
    """Text the buyer that an order shipped, once, unless they opted out."""
    order = Order.objects.select_related("consumer", "product").filter(pk=order_id).first()
    if order is None:
        return False
    if not order.consumer.phone and not (wechat.enabled() and _our_openid(order.consumer_id)):
        return False
    if not preferences(order.consumer).order_updates:
        return False
    with transaction.atomic():
        if not _claim_notices(NoticeKind.ORDER_SHIPPED, order.consumer_id, [order.pk]):
            return False
        with translation.override(settings.LANGUAGE_CODE):
            message = _('Your order "%(title)s" has shipped: %(carrier)s %(tracking)s.') % {
                "title": order.product.title[:40],
                "carrier": order.carrier,
                "tracking": order.tracking_number,
            }
        _send_on_commit(
            NoticeKind.ORDER_SHIPPED,
            [order.pk],
            order.consumer_id,
            order.consumer.phone,
            message,
            {
                "first": {"value": message},
                "keyword1": {"value": order.product.title[:40]},
                "keyword2": {"value": f"{order.carrier} {order.tracking_number}"},
            },
            f"{settings.PUBLIC_BASE_URL}/orders",
        )
    return True
