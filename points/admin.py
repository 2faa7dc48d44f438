"""Read-only views of the ledger: history is corrected by reversing transactions, never edited."""

from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model

from points.models import Account, Entry, Funding, Lot, Transaction

M = TypeVar("M", bound=Model)


class ReadOnlyAdmin(admin.ModelAdmin[M]):
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class EntryInline(admin.TabularInline[Entry, Transaction]):
    model = Entry
    extra = 0
    can_delete = False
    readonly_fields = ("account", "amount", "consumer", "created_at")

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin[Account]):
    list_display = ("id", "kind", "merchant", "consumer", "ref", "balance", "materialized")
    list_filter = ("kind",)
    search_fields = ("ref", "merchant__slug")


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin[Transaction]):
    list_display = ("id", "kind", "merchant", "consumer", "memo", "created_at")
    list_filter = ("kind",)
    search_fields = ("idempotency_key", "memo")
    inlines = (EntryInline,)


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin[Lot]):
    list_display = ("id", "consumer", "merchant", "points", "remaining", "expires_at")


@admin.register(Funding)
class FundingAdmin(ReadOnlyAdmin[Funding]):
    list_display = ("id", "merchant", "source", "amount_minor", "currency", "points", "reference")
    search_fields = ("reference", "merchant__slug")
