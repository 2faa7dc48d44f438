"""The operators' view of consumers' personal-data requests (zh-Hans in the admin)."""

from __future__ import annotations

import contextlib

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import staff_user
from privacy import erasure
from privacy.errors import PrivacyError
from privacy.models import DataCopy, ErasureRequest, MerchantConsent


@admin.register(MerchantConsent)
class MerchantConsentAdmin(admin.ModelAdmin):
    """Evidence of which consumer shares their data with which merchant: read-only."""

    list_display = ("user", "merchant", "version", "channel", "given_at", "withdrawn_at")
    list_filter = ("version", "channel", ("withdrawn_at", admin.EmptyFieldListFilter))
    raw_id_fields = ("user", "merchant")
    date_hierarchy = "given_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ErasureRequest)
class ErasureRequestAdmin(admin.ModelAdmin):
    """Account deletions: operators see each request, cancel one (a consumer's request
    by phone to support) or carry out a due one now (the beat task does it hourly)."""

    list_display = (
        "user",
        "status",
        "requested_at",
        "erase_after",
        "cancelled_by",
        "done_at",
        "forfeited_points",
    )
    list_filter = ("status",)
    raw_id_fields = ("user",)
    date_hierarchy = "requested_at"
    actions = ("cancel_requests", "erase_due_now")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Cancel the selected deletions"))
    def cancel_requests(self, request: HttpRequest, queryset: QuerySet[ErasureRequest]) -> None:
        operator = staff_user(request)
        done = 0
        for item in queryset.filter(status=ErasureRequest.Status.PENDING).select_related("user"):
            with contextlib.suppress(PrivacyError):
                erasure.cancel_deletion(item.user, f"operator {operator.pk}")
                done += 1
        self.message_user(
            request, _("%(n)d deletion(s) cancelled.") % {"n": done}, messages.SUCCESS
        )

    @admin.action(
        description=gettext_lazy("Erase the selected accounts now if their cooling-off has passed")
    )
    def erase_due_now(self, request: HttpRequest, queryset: QuerySet[ErasureRequest]) -> None:
        done = sum(
            1
            for pk in queryset.filter(status=ErasureRequest.Status.PENDING).values_list(
                "pk", flat=True
            )
            if erasure.erase(pk) is not None
        )
        self.message_user(request, _("%(n)d account(s) erased.") % {"n": done}, messages.SUCCESS)


@admin.register(DataCopy)
class DataCopyAdmin(admin.ModelAdmin):
    """Copies of their data that consumers asked for (read-only: the file is theirs)."""

    list_display = ("user", "status", "requested_at", "ready_at")
    list_filter = ("status",)
    raw_id_fields = ("user",)
    exclude = ("file",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
