"""Merchants (the tenants), their domains and their staff."""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

from core.db import rows
from tenants.error_codes import MerchantErrorCode
from tenants.errors import MerchantNotActive

if TYPE_CHECKING:
    from accounts.models import User


class MerchantStatus(models.TextChoices):
    # An application (self-service sign-up, or ``create_merchant --status pending``):
    # a row and its staff, no schema and no budget until an operator approves it.
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    # An application the operators declined. Kept (who applied, when, why declined);
    # the slug stays taken until an operator deletes the row.
    REJECTED = "rejected", _("Rejected")
    # Moved to another database (``manage.py move_merchant export``): its points and
    # history went with it; its schema and ledger rows stay here as the record, and
    # nothing awards or spends its budget any more. No operator move leads out of it.
    MOVED = "moved", _("Moved")


# Statuses of a merchant that was approved: only these have a schema and a budget, and
# only their staff use the merchant API beyond "who am I, where".
APPROVED_STATUSES = (MerchantStatus.ACTIVE, MerchantStatus.SUSPENDED)


class MerchantQuerySet(models.QuerySet["Merchant"]):
    def provisioned(self) -> MerchantQuerySet:
        """Merchants whose schema exists: what every loop over merchant schemas visits."""
        return self.filter(provisioned_at__isnull=False)

    def applications(self) -> MerchantQuerySet:
        """Sign-ups waiting for an operator, or declined."""
        return self.filter(status__in=[MerchantStatus.PENDING, MerchantStatus.REJECTED])


class Merchant(TenantMixin):
    """A merchant: funds points and runs campaigns for its own customers.

    Its campaigns, codes and questionnaires live in its own PostgreSQL schema
    (``schema_name``); its money and points live in the shared ledger.

    A merchant starts as an application (``pending``): ``schema_name`` is reserved
    but the schema does not exist until approval provisions it (``provisioned_at``,
    ``tenants.lifecycle``). Code that visits merchant schemas uses
    ``Merchant.objects.provisioned()``.
    """

    slug = models.SlugField(max_length=40, unique=True, verbose_name=_("slug"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    status = models.CharField(
        max_length=16,
        choices=MerchantStatus.choices,
        default=MerchantStatus.PENDING,
        verbose_name=_("status"),
    )
    contact_email = models.EmailField(blank=True, verbose_name=_("contact email"))
    contact_phone = models.CharField(max_length=20, blank=True, verbose_name=_("contact phone"))
    # The brand's logo on its labels (tenants.branding validates and stores it), in the
    # default storage with the other merchant files; empty when it has none.
    logo = models.ImageField(upload_to="logos/", max_length=200, blank=True, verbose_name=_("logo"))
    # How long points earned from this merchant's campaigns stay valid.
    points_expiry_days = models.PositiveIntegerField(
        default=365,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        verbose_name=_("points expiry days"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # When its schema (copied from the template) and budget account were created, in
    # the approval's transaction; null for an application. Set once, never cleared.
    provisioned_at = models.DateTimeField(null=True, blank=True, verbose_name=_("provisioned at"))
    # The application: what the applicant told us, and the operators' decision.
    about = models.TextField(blank=True, max_length=1000)
    # The language of the platform's emails to this merchant (the sign-up page's).
    language = models.CharField(max_length=16, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reviewed at"))
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Why an application was declined; sent to the applicant with the decision.
    review_note = models.TextField(blank=True, max_length=1000)

    objects = MerchantQuerySet.as_manager()

    # Schemas are created by tenants.provisioning (a copy of a migrated template),
    # never implicitly on save, and never dropped by a delete.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering: ClassVar = ["slug"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(status__in=MerchantStatus.values),
                name="merchant_status_valid",
            ),
            # An approved merchant has its schema: approval provisions before it activates.
            models.CheckConstraint(
                condition=models.Q(status__in=[MerchantStatus.PENDING, MerchantStatus.REJECTED])
                | models.Q(provisioned_at__isnull=False),
                name="merchant_approved_is_provisioned",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @classmethod
    def find(cls, pk: int) -> Merchant | None:
        """The merchant a scanned code or a questionnaire link names, or None.

        On every claim and submission, so its one statement is written once
        (``core.db.rows``) rather than built by the ORM each time. A merchant without
        a schema (an application) is not found: no code or link of its can exist, and
        a made-up code naming its id must not reach a schema that is not there.
        """
        row = rows.fetch_one(FIND_MERCHANT_SQL, [pk], any_path=True)
        return None if row is None else _MERCHANT.build(row)

    @property
    def is_active(self) -> bool:
        return self.status == MerchantStatus.ACTIVE

    @property
    def is_provisioned(self) -> bool:
        return self.provisioned_at is not None

    def ensure_approved(self) -> None:
        """Refuse the merchant API's work to an application (pending or declined).

        Its staff may sign in and see the merchant's name and status, nothing else:
        there is no schema behind it yet (``MERCHANT_NOT_ACTIVE``). Suspended
        merchants keep reading and managing; only awarding stops for them
        (``ensure_can_award``).
        """
        if self.status == MerchantStatus.REJECTED:
            raise MerchantNotActive(
                MerchantErrorCode.MERCHANT_NOT_ACTIVE,
                _("This merchant's application was declined."),
            )
        if self.status not in APPROVED_STATUSES:
            raise MerchantNotActive(
                MerchantErrorCode.MERCHANT_NOT_ACTIVE,
                _("This merchant's application is under review."),
            )

    def ensure_can_award(self) -> None:
        """Refuse to award points for a merchant that is not active.

        A suspended merchant's campaigns stop awarding: the consumer gets a clear
        ``MERCHANT_SUSPENDED`` instead of points the merchant may never pay for.
        """
        if self.status == MerchantStatus.SUSPENDED:
            raise MerchantNotActive(
                MerchantErrorCode.MERCHANT_SUSPENDED, _("This merchant is suspended.")
            )
        if self.status != MerchantStatus.ACTIVE:
            raise MerchantNotActive(
                MerchantErrorCode.MERCHANT_NOT_ACTIVE, _("This merchant is not active yet.")
            )


_MERCHANT = rows.columns(Merchant)
# Public: bench/ replays this very statement in pgbench, so that it cannot drift.
FIND_MERCHANT_SQL = (
    f"SELECT {_MERCHANT.select('m')} FROM {rows.public_table(Merchant)} m "
    "WHERE m.id = %s AND m.provisioned_at IS NOT NULL"
)


class Domain(DomainMixin):
    """A host name that selects a merchant for the merchant API (e.g. console.acme.com)."""

    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")


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

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
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
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
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

    @property
    def acting_user(self) -> User | None:
        """The person acting, or None when an API key acts (its membership has no user)."""
        return self.user if self.user_id is not None else None


class ApiScope(models.TextChoices):
    """What an API key may reach. ``X:write`` implies ``X:read`` (see ``tenants.apikeys``)."""

    CAMPAIGNS_READ = "campaigns:read", _("Read campaigns, batches, questionnaires and stats")
    CAMPAIGNS_WRITE = "campaigns:write", _("Create and change campaigns and questionnaires")
    BATCHES_WRITE = "batches:write", _("Create and void code batches")
    EXPORTS_READ = "exports:read", _("Export codes and responses, download exports")
    LEDGER_READ = "ledger:read", _("Read the budget and the ledger")
    MALL_READ = "mall:read", _("Read supplied goods, their orders and settlements")
    MALL_WRITE = "mall:write", _("Consign goods, ship and refund orders")
    EARNING_WRITE = (
        "earning:write",
        _("Award points to consumers, record purchases, reverse awards"),
    )


class ApiKey(models.Model):
    """A merchant's key for server-to-server use of the merchant API (e.g. an ERP).

    The full key (``lk_live_<8 characters>_<secret>``) is shown once, at creation;
    only its SHA-256 digest is stored. ``prefix`` (``lk_live_<8 characters>``) is
    unique and shown in lists, so that a key can be recognised and looked up
    without storing anything that authenticates.
    """

    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("merchant"),
        db_index=False,
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    prefix = models.CharField(max_length=16, unique=True, verbose_name=_("prefix"))
    key_hash = models.CharField(max_length=64)
    scopes = ArrayField(models.CharField(max_length=32), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    # Written at most once a minute per key (tenants.apikeys.touch): not a hot row.
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        indexes: ClassVar = [models.Index(fields=["merchant", "-created_at"])]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(scopes__contained_by=ApiScope.values),
                name="apikey_scopes_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}) @ {self.merchant_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )


class AuditEvent(models.Model):
    """One merchant-API mutation: who, for which merchant, what, when, from where.

    Append-only: a trigger refuses UPDATE and DELETE (migration 0003), as on the
    ledger. Foreign keys carry no database constraint, so that an event outlives
    the user or key it names (a delete must never cascade into the log, and could
    not: the trigger refuses it); ``actor_label`` keeps who it was.
    """

    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("merchant"),
        db_index=False,
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    api_key = models.ForeignKey(
        ApiKey,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    # The staff member's email, or the key's prefix; for a failed sign-in the email tried.
    actor_label = models.CharField(max_length=254, blank=True, verbose_name=_("actor"))
    mutation = models.CharField(max_length=100, verbose_name=_("operation"))
    # The arguments, with secrets replaced by "[redacted]" and long values cut.
    input = models.JSONField(default=dict)
    # "ok", or the first error code of the payload (INTERNAL_ERROR for a crash).
    result = models.CharField(max_length=64, verbose_name=_("result"))
    ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("IP address"))
    user_agent = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes: ClassVar = [
            models.Index(fields=["merchant", "-id"], name="auditevent_merchant_id"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.mutation}"


class MerchantApplication(Merchant):
    """A merchant seen as a sign-up to review: the operators' desk in the admin lists
    pending and declined applications with the applicant's details (``tenants.admin``)."""

    class Meta:
        proxy = True
        verbose_name = _("merchant application")
        verbose_name_plural = _("merchant applications")


# --- WeChat: merchants' official accounts authorised to our third-party platform ------


class ComponentVerifyTicket(models.Model):
    """The latest ``component_verify_ticket`` WeChat pushed to our third-party platform.

    Kept in the database, not only in the cache: WeChat pushes it every ten minutes and
    it lasts twelve hours, and without it no component access token can be fetched, so
    a cache flush or restart must not leave the platform mute until the next push.
    One row per platform app id.
    """

    component_app_id = models.CharField(_("component app ID"), max_length=32, primary_key=True)
    ticket = models.CharField(_("ticket"), max_length=255)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("WeChat component verify ticket")
        verbose_name_plural = _("WeChat component verify tickets")

    def __str__(self) -> str:
        return f"{self.component_app_id} @ {self.received_at:%Y-%m-%d %H:%M}"


class OfficialAccountStatus(models.TextChoices):
    AUTHORIZED = "authorized", _("Authorised")
    # The merchant cancelled in WeChat (the ``unauthorized`` push): the row stays, so the
    # console can say so, but no token is fetched for it any more.
    UNAUTHORIZED = "unauthorized", _("Authorisation cancelled")


class OfficialAccount(models.Model):
    """A merchant's WeChat official account, authorised to our third-party platform.

    One per merchant. The authoriser's refresh token is kept here and only here (never
    shown by the API or the admin): with it, and our component access token, we fetch
    the account's access token. We never hold the account's AppSecret.

    ``service_type`` and ``verify_type`` are WeChat's ``service_type_info`` and
    ``verify_type_info`` ids: parametric QR codes and template messages need a verified
    service account (type 2, verified), anything else gets errcode 48001.
    """

    SERVICE_ACCOUNT = 2
    UNVERIFIED = -1

    merchant = models.OneToOneField(
        Merchant,
        on_delete=models.CASCADE,
        related_name="official_account",
        verbose_name=_("merchant"),
    )
    app_id = models.CharField(_("AppID"), max_length=32, unique=True)
    refresh_token = models.CharField(_("refresh token"), max_length=255)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=OfficialAccountStatus.choices,
        default=OfficialAccountStatus.AUTHORIZED,
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    principal_name = models.CharField(_("principal"), max_length=200, blank=True)
    user_name = models.CharField(_("original ID"), max_length=64, blank=True)
    service_type = models.SmallIntegerField(_("account type (service_type_info)"), default=0)
    verify_type = models.SmallIntegerField(_("verification (verify_type_info)"), default=UNVERIFIED)
    func_ids = ArrayField(
        models.SmallIntegerField(), default=list, blank=True, verbose_name=_("permissions")
    )
    authorized_at = models.DateTimeField(_("authorised at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    unauthorized_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("WeChat official account")
        verbose_name_plural = _("WeChat official accounts")

    def __str__(self) -> str:
        return f"{self.name or self.app_id} ({self.merchant_id})"

    @property
    def is_authorized(self) -> bool:
        return self.status == OfficialAccountStatus.AUTHORIZED

    @property
    def is_service_account(self) -> bool:
        return self.service_type == self.SERVICE_ACCOUNT

    @property
    def is_verified(self) -> bool:
        return self.verify_type != self.UNVERIFIED

    @property
    def can_use_service_apis(self) -> bool:
        """Parametric QR codes and template messages: a verified service account only."""
        return self.is_authorized and self.is_service_account and self.is_verified


class CodeRoute(models.Model):
    """Which merchant an imported code belongs to (decision 0206).

    Our own codes name their merchant in their first characters and have no row here;
    a packaging printer's codes carry nothing of ours, so a scan of one finds its
    merchant by this table's primary key: one index lookup, whatever the number of
    merchants, never a search through their schemas. Keyed by the MD5 of the normalised
    code as a UUID (16 bytes, computed alike by PostgreSQL's ``md5(code)::uuid`` during
    an import and by ``route_key``): the public schema then holds no printable code.
    The key is also what makes an imported code unique across every merchant.
    """

    key = models.UUIDField(primary_key=True)
    # No constraint or index of its own: an import writes millions of rows at once, and
    # merchants are never deleted (a moved one stays, status ``moved``).
    merchant = models.ForeignKey(
        Merchant, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    # The code's batch carries hidden codes (刮开涂层): a claim or a preview needs the
    # label's secret (decision 0314). Here, not on the batch, so that the claim learns it
    # from the lookup it already makes; our own codes have no row and pay nothing.
    needs_hidden_code = models.BooleanField(default=False, db_default=False)

    def __str__(self) -> str:
        return f"{self.key} -> {self.merchant_id}"


def route_key(code: str) -> uuid.UUID:
    """The routing key of a normalised code: what ``md5(code)::uuid`` gives in SQL."""
    return uuid.UUID(hashlib.md5(code.encode(), usedforsecurity=False).hexdigest())
