"""Users: consumers (WeChat, or phone + one-time code) and staff (email + password)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("Staff users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_or_create_consumer(self, phone: str) -> tuple[User, bool]:
        """The consumer for an E.164 phone number, created on first sign-in."""
        user, created = self.get_or_create(phone=phone)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return user, created


class User(AbstractBaseUser, PermissionsMixin):
    """One user model for everyone.

    A consumer signs in inside WeChat (a ``WeChatIdentity`` under our service account)
    or with a ``phone`` (E.164) and a one-time code, or both once bound; a staff member
    has an ``email`` and a password, and belongs to merchants through
    ``tenants.Membership``. ``is_staff`` is Django's flag for the platform's own
    operators (admin site), not for merchant staff.
    """

    email = models.EmailField(unique=True, null=True, blank=True, verbose_name=_("email address"))
    phone = models.CharField(max_length=16, unique=True, null=True, blank=True)
    name = models.CharField(max_length=150, blank=True, verbose_name=_("full name"))
    is_active = models.BooleanField(default=True, verbose_name=_("active"))
    is_staff = models.BooleanField(default=False, verbose_name=_("staff status"))
    date_joined = models.DateTimeField(default=timezone.now, verbose_name=_("date joined"))
    # A consumer who bound a phone and a WeChat user that were two accounts keeps one:
    # the other is kept (its id is in merchants' history and the ledger), deactivated
    # and points here (accounts.merge).
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_accounts",
        # No database constraint: a deferred foreign-key check queued by a user insert
        # blocks any later ALTER of the table in that transaction (a merchant made with
        # its owner, then its schema migrated: tests/test_migrations.py).
        db_constraint=False,
    )
    merged_at = models.DateTimeField(null=True, blank=True)
    # Optional, given by the consumer once (earning.services.set_birthday): merchants'
    # birthday bonuses are paid on it. Never shown to merchants.
    birthday = models.DateField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email or self.masked_phone or f"consumer {self.pk}"

    @property
    def is_consumer(self) -> bool:
        """Whether this is a consumer's account: a phone, or no email (WeChat only).

        Staff always have an email (``create_user``); consumers sign in by phone or
        inside WeChat and have none, and since WeChat a consumer may have no phone
        either (decision 0157). Read from the row itself, so that the claim's hot path
        costs no query to tell a consumer from staff.
        """
        return bool(self.phone) or not self.email

    @property
    def masked_phone(self) -> str:
        """The phone as merchants may see it: +86138****5678."""
        return mask_phone(self.phone or "")


def mask_phone(phone: str) -> str:
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:-8]}****{phone[-4:]}"


class PhoneChallenge(models.Model):
    """A one-time sign-in code sent to a phone. Only its HMAC is stored."""

    phone = models.CharField(max_length=16)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    # Set when a newer code replaces this one, or when too many wrong tries burn it.
    invalidated_at = models.DateTimeField(null=True, blank=True)
    requested_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["phone", "-created_at"])]

    def __str__(self) -> str:
        return f"challenge for {mask_phone(self.phone)} at {self.created_at:%Y-%m-%d %H:%M}"


class AuthSession(models.Model):
    """A signed-in device. Access tokens name it; revoking it ends them all.

    The refresh token is stored only as a SHA-256 digest and rotates on every
    use; presenting an already-rotated refresh token revokes the session, since
    only a stolen copy would do that.
    """

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="auth_sessions", verbose_name=_("user")
    )
    refresh_hash = models.CharField(max_length=64, unique=True)
    previous_refresh_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    refreshed_at = models.DateTimeField(default=timezone.now, verbose_name=_("refreshed at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("sign-in session")
        verbose_name_plural = _("sign-in sessions")

    def __str__(self) -> str:
        return f"session {self.pk} of {self.user_id}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class WeChatIdentity(models.Model):
    """A consumer's OpenID under one WeChat app: ours (sign-in) or a merchant's (follows).

    An OpenID is per app: the same person has one under our service account and another
    under each merchant's official account, so the pair (app, OpenID) is the key, and a
    consumer has at most one OpenID per app. The UnionID comes back only with
    ``snsapi_userinfo`` and is kept when given, never relied on (ARCHITECTURE.md).
    """

    user = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="wechat_identities",
        verbose_name=_("user"),
        db_index=False,
    )
    app_id = models.CharField(max_length=32, verbose_name=_("AppID"))
    openid = models.CharField(max_length=64, verbose_name=_("OpenID"))
    unionid = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("WeChat identity")
        verbose_name_plural = _("WeChat identities")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["app_id", "openid"], name="wechat_identity_openid"),
            models.UniqueConstraint(fields=["user", "app_id"], name="wechat_identity_one_per_app"),
        ]

    def __str__(self) -> str:
        return f"{self.app_id}:{self.openid[:6]}… of {self.user_id}"


class Consent(models.Model):
    """A consumer's agreement to one version of one of our documents, as given.

    Append-only evidence (PIPL): who agreed to which version of the user agreement or
    privacy policy, when, through which sign-in, from which address and browser. The
    current versions are in ``accounts.policies``; a new version needs new rows.
    """

    class Document(models.TextChoices):
        TERMS = "terms", _("user agreement")
        PRIVACY = "privacy", _("privacy policy")

    class Channel(models.TextChoices):
        WECHAT = "wechat", _("WeChat sign-in")
        PHONE = "phone", _("phone sign-in")

    user = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="consents",
        verbose_name=_("consumer"),
        db_index=False,
    )
    document = models.CharField(_("document"), max_length=16, choices=Document.choices)
    version = models.CharField(_("version"), max_length=16)
    given_at = models.DateTimeField(_("given at"), default=timezone.now)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes: ClassVar = [models.Index(fields=["user", "document", "-given_at"])]

    def __str__(self) -> str:
        return f"{self.document} {self.version} by {self.user_id} at {self.given_at:%Y-%m-%d %H:%M}"
