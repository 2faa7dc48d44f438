"""The follow events' work, done in Celery so that the message URL answers WeChat at once.

Sent by ``views.account_messages`` with the ``_schema_name`` header (tenant-schemas-celery):
each runs in the merchant's schema. Both are safe to run twice (WeChat's retries, a
worker killed after the commit): a follow is recorded once per campaign and OpenID.
"""

from __future__ import annotations

from datetime import UTC, datetime

from celery import shared_task

from campaigns.follow import services
from tenants.models import Merchant


@shared_task(name="campaigns.follow.credit_follow", acks_late=True)
def credit_follow(merchant_id: int, app_id: str, openid: str, scene: str, created: int) -> str:
    merchant = Merchant.objects.get(pk=merchant_id)
    followed_at = datetime.fromtimestamp(created, tz=UTC)
    return services.credit(merchant, app_id, openid, scene, followed_at).outcome.value


@shared_task(name="campaigns.follow.note_unfollow", acks_late=True)
def note_unfollow(openid: str, created: int) -> int:
    return services.unfollowed(openid, datetime.fromtimestamp(created, tz=UTC))
