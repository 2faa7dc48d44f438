"""Read-only views of the ledger: history is corrected by reversing transactions, never edited."""

from typing import Any, TypeVar

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from points import topups
from points.models import Account, Entry, Funding, Lot, TopUpRequest, TopUpStatus, Transaction

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


@admin.register(TopUpRequest)
class TopUpRequestAdmin(admin.ModelAdmin[TopUpRequest]):
    """Merchants' top-up requests (the console's 申请充值): an operator records the
    payment with the merchant's top-up form, then marks the request done."""

    list_display = ("id", "merchant", "amount", "note", "requested_by", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("merchant__slug", "merchant__name", "note")
    readonly_fields = (
        "merchant",
        "requested_by",
        "amount_minor",
        "currency",
        "note",
        "status",
        "created_at",
        "handled_at",
        "top_up_link",
    )
    actions = ("mark_done", "mark_declined")

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("amount"))
    def amount(self, obj: TopUpRequest) -> str:
        return f"¥{obj.amount_minor / 100:,.2f}"

    @admin.display(description=_("top up"))
    def top_up_link(self, obj: TopUpRequest) -> str:
        url = reverse("admin:tenants_merchant_top_up", args=[obj.merchant_id])
        return format_html('<a href="{}">{}</a>', url, _("Record the payment"))

    @admin.action(description=_("Mark the selected requests as topped up"))
    def mark_done(self, request: HttpRequest, found: QuerySet[TopUpRequest]) -> None:
        changed = topups.mark_handled(list(found), TopUpStatus.DONE)
        self.message_user(request, _("%(n)d requests closed.") % {"n": changed}, messages.SUCCESS)

    @admin.action(description=_("Mark the selected requests as declined"))
    def mark_declined(self, request: HttpRequest, found: QuerySet[TopUpRequest]) -> None:
        changed = topups.mark_handled(list(found), TopUpStatus.DECLINED)
        self.message_user(request, _("%(n)d requests closed.") % {"n": changed}, messages.SUCCESS)
