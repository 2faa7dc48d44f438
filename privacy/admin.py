from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from privacy.models import MerchantConsent


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
