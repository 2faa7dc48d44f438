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
        db_index=False,
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


class DataCopy(models.Model):
    """A consumer's request for a copy of their data (PIPL art. 45), built by a task.

    The file is a zip (``data.json`` and one CSV per section) in the default storage
    under ``data-copies/``; it is handed out by a signed link that lives minutes, and
    deleted ``DATA_COPY_KEEP_HOURS`` after it was built (``privacy.tasks``).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("being prepared")
        READY = "ready", _("ready")
        EXPIRED = "expired", _("expired")

    user = models.ForeignKey(
        "accounts.User",
        on_delete=models.CASCADE,
        related_name="data_copies",
        verbose_name=_("consumer"),
        db_index=False,
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    file = models.CharField(_("file"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("data copy")
        verbose_name_plural = _("data copies")
        indexes: ClassVar = [models.Index(fields=["user", "-requested_at"])]

    def __str__(self) -> str:
        return f"data copy {self.pk} of {self.user_id} ({self.status})"


class ErasureRequest(models.Model):
    """A consumer's request to delete their account (PIPL art. 47), after a cooling-off.

    Requested with a fresh one-time code; carried out by the beat task once
    ``erase_after`` has passed, unless cancelled before (by the consumer signing in or
    tapping cancel, or by an operator). At most one pending request per consumer.
    The row is kept after the erasure as the record that it was done (it names only the
    account's id).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("cooling off")
        CANCELLED = "cancelled", _("cancelled")
        DONE = "done", _("erased")

    user = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        related_name="erasure_requests",
        verbose_name=_("consumer"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    erase_after = models.DateTimeField(_("erase after"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.CharField(_("cancelled by"), max_length=32, blank=True)
    done_at = models.DateTimeField(_("erased at"), null=True, blank=True)
    forfeited_points = models.BigIntegerField(_("points forfeited"), default=0)

    class Meta:
        verbose_name = _("account deletion request")
        verbose_name_plural = _("account deletion requests")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="pending"),
                name="erasure_one_pending",
            )
        ]
        indexes: ClassVar = [models.Index(fields=["status", "erase_after"])]

    def __str__(self) -> str:
        return f"deletion of {self.user_id} ({self.status})"
