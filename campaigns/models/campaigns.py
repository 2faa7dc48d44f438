"""Campaigns, of every kind: their kinds, statuses, the status changes a merchant may make,
and the rules on their details. A table in each merchant's schema."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.error_codes import CampaignErrorCode
from campaigns.scan.codes import ALPHABET
from core.errors import DomainError
from tenants.error_codes import MerchantErrorCode

# Foreign keys from these tenant tables to public ones (users, ledger transactions)
# are DO_NOTHING in Django: deleting a public row must not make Django look for
# related rows in a tenant table from the public schema. The database constraint
# still refuses to delete a referenced row.


LINK_KEY_WIDTH = 13


class CampaignKind(models.TextChoices):
    SCAN = "scan", _("Scan codes")
    QUESTIONNAIRE = "questionnaire", _("Questionnaire")
    FOLLOW = "follow", _("Follow the official account")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


class CampaignError(DomainError):
    pass


# Which status changes a merchant may make: draft → active <-> paused → ended.
TRANSITIONS: dict[str, set[str]] = {
    CampaignStatus.DRAFT: {CampaignStatus.ACTIVE, CampaignStatus.ENDED},
    CampaignStatus.ACTIVE: {CampaignStatus.PAUSED, CampaignStatus.ENDED},
    CampaignStatus.PAUSED: {CampaignStatus.ACTIVE, CampaignStatus.ENDED},
    CampaignStatus.ENDED: set(),
}


def new_link_key() -> str:
    """A campaign's public key: 13 characters of the codes' alphabet (65 bits from
    ``secrets``), so its link (``/q/<merchant>-<key>``) names no countable id. Never all
    digits: a link of digits is an old numeric one (decision 0323)."""
    while True:
        key = "".join(secrets.choice(ALPHABET) for _position in range(LINK_KEY_WIDTH))
        if not key.isdigit():
            return key


class Campaign(models.Model):
    kind = models.CharField(max_length=16, choices=CampaignKind.choices)
    # What its public link names (questionnaires and follow campaigns); see new_link_key.
    link_key = models.CharField(max_length=LINK_KEY_WIDTH, unique=True, default=new_link_key)
    # The link by sequential id (``<merchant>-<id>``) still opens it: only campaigns
    # that had that link before keys existed, whose posters may be printed (0323).
    numeric_link = models.BooleanField(default=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    image = models.ImageField(upload_to="campaigns/", blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    # Per-consumer limits; null means no limit.
    max_claims_per_day = models.PositiveIntegerField(null=True, blank=True)
    max_claims_per_consumer = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(starts_at__isnull=True)
                | models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="campaign_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_per_consumer_limits(self) -> bool:
        return self.max_claims_per_day is not None or self.max_claims_per_consumer is not None

    def ensure_claimable(self, now: datetime | None = None) -> None:
        """Refuse a claim unless the campaign is active and within its dates."""
        now = now or timezone.now()
        if self.status == CampaignStatus.ENDED or (self.ends_at and now >= self.ends_at):
            raise CampaignError(CampaignErrorCode.CAMPAIGN_ENDED, _("This campaign has ended."))
        if self.status != CampaignStatus.ACTIVE or (self.starts_at and now < self.starts_at):
            raise CampaignError(
                CampaignErrorCode.CAMPAIGN_NOT_ACTIVE, _("This campaign is not running right now.")
            )

    def ensure_transition(self, status: str) -> None:
        if status not in TRANSITIONS[self.status]:
            raise CampaignError(
                CampaignErrorCode.INVALID_STATUS_CHANGE,
                _("A %(from)s campaign cannot become %(to)s.")
                % {"from": self.get_status_display(), "to": CampaignStatus(status).label},
                "status",
            )

    @staticmethod
    def validate_details(
        name: str,
        starts_at: datetime | None,
        ends_at: datetime | None,
        limits: dict[str, int | None],
    ) -> None:
        """Refuse a bad name, dates out of order or a limit out of range (``limits`` maps
        each limit's API field name to its value).

        Every kind of campaign is created and edited through this one check, so it lives
        with the model rather than in one kind's services.
        """
        if not (name or "").strip() or len(name) > 200:
            raise CampaignError(
                MerchantErrorCode.INVALID_NAME,
                gettext("A campaign needs a name (200 characters at most)."),
                "name",
            )
        if starts_at and ends_at and ends_at <= starts_at:
            raise CampaignError(
                CampaignErrorCode.INVALID_DATES,
                gettext("The end must be after the start."),
                "endsAt",
            )
        for field, value in limits.items():
            if value is not None and not 1 <= value <= 1_000_000:
                raise CampaignError(
                    CampaignErrorCode.INVALID_LIMIT,
                    gettext("A limit must be between 1 and 1,000,000."),
                    field,
                )
