"""Consent to share a consumer's data with one merchant (PIPL art. 23)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MerchantConsent(models.Model):
    """A consumer's agreement to share their data with one merchant, as given.

    A merchant is a personal-information handler of its own: the consumer's identity
    (masked phone), claims and answers reach it only with this consent (art. 23),
    asked the first time the consumer takes part in one of its campaigns. Evidence:
    a row is never deleted; withdrawing stamps ``withdrawn_at``, and the next
    participation asks again and adds a new row. At most one live row per pair.
    """

    class Channel(models.TextChoices):
        CLAIM = "claim", _("code claim")
        QUESTIONNAIRE = "questionnaire", _("questionnaire")

    user = models.ForeignKey(
        "accounts.User",
        on_delete=models.CASCADE,
        related_name="merchant_consents",
        verbose_name=_("consumer"),
    )
    merchant = models.ForeignKey(
        "tenants.Merchant",
        on_delete=models.CASCADE,
        related_name="consumer_consents",
        verbose_name=_("merchant"),
    )
    version = models.CharField(_("version"), max_length=16)
    given_at = models.DateTimeField(_("given at"), default=timezone.now)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=200, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent to share with a merchant")
        verbose_name_plural = _("consents to share with merchants")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user", "merchant"],
                condition=Q(withdrawn_at__isnull=True),
                name="merchant_consent_one_live",
            )
        ]
        indexes: ClassVar = [models.Index(fields=["merchant", "user"])]

    def __str__(self) -> str:
        return f"{self.user_id} → merchant {self.merchant_id} ({self.version})"

    @property
    def is_live(self) -> bool:
        return self.withdrawn_at is None
