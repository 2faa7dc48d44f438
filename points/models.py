"""The points ledger: double entry, append-only, integer points.

Accounts hold materialised balances (``CHECK balance >= 0`` unless the account
may go negative, like the platform's issuance account). Every movement is one
``Transaction`` with entries summing to zero and a unique idempotency key.
Points in a consumer wallet are split into ``Lot`` rows with an expiry; spending
takes the oldest lots first and records which lots it took (``LotDebit``) so a
reversal can put points back with their original expiry.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccountKind(models.TextChoices):
    # Platform accounts: one each, may go negative (they are the other side of issuance).
    ISSUANCE = "issuance", _("Points issued by the platform")
    MALL = "mall", _("Points spent in the mall")
    EXPIRED = "expired", _("Points expired")
    # A merchant's spendable points, funded by money or goods.
    MERCHANT_BUDGET = "merchant_budget", _("Merchant budget")
    # Points a merchant has set aside for one campaign (ref = campaign key).
    CAMPAIGN_RESERVE = "campaign_reserve", _("Campaign reserve")
    # A consumer's wallet (all merchants' points in one balance).
    CONSUMER_WALLET = "consumer_wallet", _("Consumer wallet")
    # Points a merchant awarded to a phone that has no account yet (earning/), held
    # until it signs up or the hold ends. Owned by no merchant (ref = the merchant's id):
    # the merchant's statement and budget look the same whether or not the phone was
    # registered, so the earning API cannot be used to find out.
    AWARD_HOLD = "award_hold", _("Awards held for a sign-up")


PLATFORM_KINDS = (AccountKind.ISSUANCE, AccountKind.MALL, AccountKind.EXPIRED)


class Account(models.Model):
    kind = models.CharField(max_length=24, choices=AccountKind.choices, verbose_name=_("kind"))
    merchant = models.ForeignKey(
        "tenants.Merchant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("merchant"),
    )
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("consumer"),
    )
    # Distinguishes several accounts of one kind and owner (a campaign's key).
    ref = models.CharField(
        max_length=64, blank=True, default="", verbose_name=_("account reference")
    )
    # Materialised balance, kept equal to the sum of the account's entries. Platform
    # accounts are not materialised (balance stays 0; the truth is the sum of their
    # entries): they may go negative by design, and updating one shared row on every
    # redeem or expiry would serialise the whole platform on it.
    balance = models.BigIntegerField(default=0, verbose_name=_("balance"))
    materialized = models.BooleanField(default=True, verbose_name=_("balance kept"))
    created_at = models.DateTimeField(default=timezone.now)
    # Set on a wallet whose consumer was merged into another account (accounts.merge):
    # the survivor's wallet, which received its points and its lots. Such a wallet stays
    # empty (account_merged_is_empty), so a claim racing the merge cannot strand points
    # in it, and a later reversal of its old postings lands in the survivor's wallet.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        # As User.merged_into: no deferred check queued by every account insert.
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(merged_into__isnull=True) | models.Q(balance=0),
                name="account_merged_is_empty",
            ),
            models.UniqueConstraint(
                fields=["kind", "merchant", "consumer", "ref"],
                name="account_unique_owner",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=models.Q(balance__gte=0),
                name="account_balance_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(materialized=True) | models.Q(balance=0),
                name="account_unmaterialized_zero",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind=AccountKind.CONSUMER_WALLET)
                | models.Q(consumer__isnull=False),
                name="account_wallet_has_consumer",
            ),
        ]

    def __str__(self) -> str:
        owner = self.merchant_id or self.consumer_id or "platform"
        return f"{self.kind}:{owner}{':' + self.ref if self.ref else ''}"


class TransactionKind(models.TextChoices):
    FUND_MONEY = "fund_money", _("Funded with money")
    FUND_GOODS = "fund_goods", _("Funded with goods")
    TRANSFER = "transfer", _("Transfer")
    RESERVE = "reserve", _("Reserved for a campaign")
    RELEASE = "release", _("Returned from a campaign")
    AWARD = "award", _("Earned")
    REDEEM = "redeem", _("Redeemed")
    EXPIRE = "expire", _("Expired")
    REVERSAL = "reversal", _("Reversal")
    # A merged account's points moving to the account that survives (accounts.merge).
    MERGE = "merge", _("Points from a merged account")
    # A deleted account's remaining points, taken out of its wallet (privacy.erasure).
    FORFEIT = "forfeit", _("Forfeited with a deleted account")
    # Points a merchant's own systems award through the earning API (earning/), paid
    # from its budget (or from the hold of an award waiting for its phone to sign up).
    MERCHANT_AWARD = "merchant_award", _("Awarded by the merchant")


class Transaction(models.Model):
    kind = models.CharField(max_length=16, choices=TransactionKind.choices, verbose_name=_("kind"))
    # Unique by a constraint (Meta), not ``unique=True``: that would add a second,
    # ``varchar_pattern_ops`` index for LIKE searches no one makes, to every posting.
    idempotency_key = models.CharField(max_length=200)
    # A digest of what was asked, so a reused key with a different request is refused.
    request_hash = models.CharField(max_length=64)
    # For the merchant's statement and the consumer's history without joins on entries.
    # Indexed by txn_merchant_recent and txn_consumer_recent (Meta), which lead with them.
    merchant = models.ForeignKey(
        "tenants.Merchant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("merchant"),
        db_constraint=False,  # checked by construction, not per row (decision 0342)
    )
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("consumer"),
        db_constraint=False,  # checked by construction, not per row (decision 0342)
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    memo = models.CharField(max_length=200, blank=True, verbose_name=_("memo"))
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )

    # Not columns: ``ledger.post`` sets both on the transaction it returns (declared
    # here for the type checker only). ``replayed``: the idempotency key had been used,
    # this is the first request's transaction. ``balances``: each moved materialised
    # account's new balance by account id (empty on a replay).
    replayed: bool
    balances: dict[int, int]

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        indexes: ClassVar = [
            models.Index(fields=["merchant", "-id"], name="txn_merchant_recent"),
            models.Index(fields=["consumer", "-id"], name="txn_consumer_recent"),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["idempotency_key"], name="txn_unique_idempotency_key")
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Entry(models.Model):
    """One side of a transaction. Append-only: never updated, never deleted."""

    transaction = models.ForeignKey(
        Transaction,
        on_delete=models.PROTECT,
        related_name="entries",
        db_constraint=False,  # checked by construction, not per row (decision 0342)
    )
    # Indexed by entry_account_recent (Meta), which leads with it.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    amount = models.BigIntegerField()
    # Carried so that entries can be distributed by consumer (see ARCHITECTURE.md).
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,  # checked by construction, not per row (decision 0342)
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("entry")
        verbose_name_plural = _("entries")
        indexes: ClassVar = [models.Index(fields=["account", "-id"], name="entry_account_recent")]
        constraints: ClassVar = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="entry_amount_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+d} on {self.account_id}"


class Lot(models.Model):
    """Points that entered a wallet together and expire together."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots")
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("consumer"),
        db_constraint=False,  # checked by construction, not per row (decision 0342)
    )
    # The merchant whose campaign the points came from (liability by merchant).
    merchant = models.ForeignKey(
        "tenants.Merchant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("merchant"),
        db_constraint=False,  # checked by construction, not per row (decision 0342)
    )
    source = models.ForeignKey(
        Transaction,
        on_delete=models.PROTECT,
        related_name="lots",
        db_constraint=False,  # checked by construction, not per row (decision 0342)
    )
    points = models.BigIntegerField(verbose_name=_("points"))
    remaining = models.BigIntegerField(verbose_name=_("remaining"))
    earned_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(verbose_name=_("expires at"))

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        indexes: ClassVar = [
            models.Index(
                fields=["account", "expires_at", "id"],
                condition=models.Q(remaining__gt=0),
                name="lot_open_by_expiry",
            ),
            models.Index(
                fields=["expires_at"], condition=models.Q(remaining__gt=0), name="lot_open_expiring"
            ),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(condition=models.Q(points__gt=0), name="lot_points_positive"),
            models.CheckConstraint(
                condition=models.Q(remaining__gte=0) & models.Q(remaining__lte=models.F("points")),
                name="lot_remaining_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"lot {self.pk}: {self.remaining}/{self.points} until {self.expires_at:%Y-%m-%d}"


class LotDebit(models.Model):
    """How many points one transaction took out of one lot (positive), or put back (negative)."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="debits")
    transaction = models.ForeignKey(
        Transaction, on_delete=models.PROTECT, related_name="lot_debits"
    )
    points = models.BigIntegerField()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=~models.Q(points=0), name="lot_debit_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.points} from lot {self.lot_id} by {self.transaction_id}"


class FundingSource(models.TextChoices):
    MONEY = "money", _("Money")
    GOODS = "goods", _("Consigned goods")


class Funding(models.Model):
    """A merchant buying points with money, or being credited for goods it consigned."""

    merchant = models.ForeignKey(
        "tenants.Merchant", on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant")
    )
    source = models.CharField(max_length=8, choices=FundingSource.choices, verbose_name=_("source"))
    # Money in minor units (fen, cents) of ``currency``; for goods, the agreed value.
    amount_minor = models.BigIntegerField(verbose_name=_("amount (minor units)"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    # Points per one major unit of the currency (e.g. 100 points per 1 CNY).
    rate = models.DecimalField(max_digits=12, decimal_places=4)
    points = models.BigIntegerField(verbose_name=_("points"))
    reference = models.CharField(max_length=100, verbose_name=_("reference"))
    description = models.CharField(max_length=200, blank=True)
    transaction = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, related_name="funding"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("funding")
        verbose_name_plural = _("fundings")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["source", "reference"], name="funding_unique_reference"
            ),
            models.CheckConstraint(
                condition=models.Q(amount_minor__gt=0), name="funding_amount_pos"
            ),
            models.CheckConstraint(condition=models.Q(points__gt=0), name="funding_points_pos"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="funding_rate_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.amount_minor} {self.currency} → {self.points} pts"


class TopUpStatus(models.TextChoices):
    OPEN = "open", _("Awaiting an operator")
    DONE = "done", _("Topped up")
    DECLINED = "declined", _("Declined")


class TopUpRequest(models.Model):
    """A merchant asking the platform to top up its budget (the console's 申请充值).

    Operators see it in the admin and record the payment with the merchant's top-up
    form (``Funding``); the request itself moves no points.
    """

    merchant = models.ForeignKey(
        "tenants.Merchant",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("merchant"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    # Money in minor units (fen) of ``currency``.
    amount_minor = models.BigIntegerField(verbose_name=_("amount (minor units)"))
    currency = models.CharField(max_length=3, default="CNY", verbose_name=_("currency"))
    note = models.CharField(max_length=200, blank=True, verbose_name=_("note"))
    status = models.CharField(
        max_length=8,
        choices=TopUpStatus.choices,
        default=TopUpStatus.OPEN,
        verbose_name=_("status"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("requested at"))
    handled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("handled at"))

    class Meta:
        verbose_name = _("top-up request")
        verbose_name_plural = _("top-up requests")
        constraints: ClassVar = [
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="topup_amount_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.amount_minor} {self.currency} ({self.status})"
