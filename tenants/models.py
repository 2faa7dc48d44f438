"""Merchants (the tenants), their domains and their staff."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

from config import rows
from tenants.errors import MerchantNotActive


class MerchantStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


class Merchant(TenantMixin):
    """A merchant: funds points and runs campaigns for its own customers.

    Its campaigns, codes and questionnaires live in its own PostgreSQL schema
    (``schema_name``); its money and points live in the shared ledger.
    """

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=MerchantStatus.choices, default=MerchantStatus.PENDING
    )
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=20, blank=True)
    # How long points earned from this merchant's campaigns stay valid.
    points_expiry_days = models.PositiveIntegerField(
        default=365, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Schemas are created by tenants.onboarding (a copy of a migrated template),
    # never implicitly on save, and never dropped by a delete.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering: ClassVar = ["slug"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(status__in=MerchantStatus.values),
                name="merchant_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @classmethod
    def find(cls, pk: int) -> Merchant | None:
        """The merchant a scanned code or a questionnaire link names, or None.

        On every claim and submission, so its one statement is written once
        (``config.rows``) rather than built by the ORM each time.
        """
        row = rows.fetch_one(_FIND_MERCHANT, [pk])
        return None if row is None else _MERCHANT.build(row)

    @property
    def is_active(self) -> bool:
        return self.status == MerchantStatus.ACTIVE

    def ensure_can_award(self) -> None:
        """Refuse to award points for a merchant that is not active.

        A suspended merchant's campaigns stop awarding: the consumer gets a clear
        ``MERCHANT_SUSPENDED`` instead of points the merchant may never pay for.
        """
        if self.status == MerchantStatus.SUSPENDED:
            raise MerchantNotActive("MERCHANT_SUSPENDED", _("This merchant is suspended."))
        if self.status != MerchantStatus.ACTIVE:
            raise MerchantNotActive("MERCHANT_NOT_ACTIVE", _("This merchant is not active yet."))


_MERCHANT = rows.columns(Merchant)
_FIND_MERCHANT = f"SELECT {_MERCHANT.select('m')} FROM {rows.table(Merchant)} m WHERE m.id = %s"


class Domain(DomainMixin):
    """A host name that selects a merchant for the merchant API (e.g. console.acme.com)."""


class Role(models.TextChoices):
    # Ordered from least to most powerful; see Role.rank.
    VIEWER = "viewer", _("Viewer")
    OPERATOR = "operator", _("Operator")
    ADMIN = "admin", _("Admin")
    OWNER = "owner", _("Owner")

    @classmethod
    def rank(cls, role: str) -> int:
        return [cls.VIEWER, cls.OPERATOR, cls.ADMIN, cls.OWNER].index(cls(role))


class Membership(models.Model):
    """A staff member's role at one merchant. A user may belong to several merchants."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["merchant", "user"], name="membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant.slug}: {self.role}"

    def has_role(self, required: str) -> bool:
        return Role.rank(self.role) >= Role.rank(required)
