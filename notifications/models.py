"""Consumers' notification choices, and a record of each notice sent (at most once)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class ConsumerPreference(models.Model):
    """A consumer's opt-outs. No row means the defaults: both notices on."""

    consumer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    expiry_reminders = models.BooleanField(default=True)
    order_updates = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"preferences of {self.consumer_id}"


class NoticeKind(models.TextChoices):
    POINTS_EXPIRING = "points_expiring", "Points expiring"
    ORDER_SHIPPED = "order_shipped", "Order shipped"


class NoticeChannel(models.TextChoices):
    SMS = "sms", "SMS"
    WECHAT = "wechat", "WeChat template message"
    NONE = "none", "Not sent (no phone, WeChat refused)"


class SmsNotice(models.Model):
    """One notice about one thing (a lot, an order): its unique key is what keeps a
    task that runs twice, or two at once, from texting the consumer twice.

    Despite the name, the notice goes through WeChat when it can (a template message to
    a follower of our service account), SMS being the fallback: ``channel`` says which,
    ``failure`` what WeChat answered when it refused (its errcode first)."""

    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    ref = models.BigIntegerField(help_text="The lot or order the notice is about.")
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Database defaults: the notices are claimed by one INSERT … ON CONFLICT (services).
    channel = models.CharField(
        max_length=8, choices=NoticeChannel.choices, default="sms", db_default="sms"
    )
    failure = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["kind", "ref"], name="sms_notice_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.ref}"
