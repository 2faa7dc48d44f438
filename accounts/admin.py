from contextlib import suppress
from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.models import AuthSession, Consent, User, WeChatIdentity
from accounts.phones import normalize_phone
from core.errors import DomainError


def staff_user(request: HttpRequest) -> User:
    """The operator behind a request to an admin view.

    ``admin.site`` (``admin_view``) lets only signed-in, active staff through, so
    ``request.user`` is a ``User`` there, never ``AnonymousUser``: this says so to the
    type checker, and fails loudly should a view ever be reachable without it.
    """
    user = request.user
    assert isinstance(user, User), "an admin view reached without a signed-in user"
    return user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("-date_joined",)
    list_display = ("email", "masked_phone", "name", "is_staff", "is_active", "date_joined")
    # Consumers are found by the full number they give support ("=": exact match);
    # the number itself is only ever shown masked.
    search_fields = ("email", "name", "=phone")
    readonly_fields = ("masked_phone",)
    fieldsets = (
        (None, {"fields": ("email", "masked_phone", "name", "password")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    # A consumer signs in by phone or WeChat: no password, no groups or permissions
    # to show or set; support reads the rest on the support page (issue 24).
    consumer_fieldsets = (
        (None, {"fields": ("masked_phone", "name", "support_page")}),
        (_("Status"), {"fields": ("is_active",)}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        if obj is not None and obj.is_consumer:
            return self.consumer_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and obj.is_consumer:
            return (*fields, "support_page", "last_login", "date_joined")
        return fields

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: User) -> str:
        # Only ever masked here: support reads it out, never copies it.
        return obj.masked_phone

    @admin.display(description=_("Support"))
    def support_page(self, obj: User) -> str:
        url = reverse("admin-consumer-support", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Open the support page"))

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        """Also as support hears a number: the 11 local digits (13912345678) or the last
        four; the stored number is E.164 (+8613912345678)."""
        results, duplicates = super().get_search_results(request, queryset, search_term)
        digits = search_term.strip().replace(" ", "").replace("-", "")
        if len(digits) == 4 and digits.isdigit():
            results |= queryset.filter(phone__endswith=digits)
        elif digits.isdigit() and 5 <= len(digits) <= 15:
            # Not a number we could have stored: the plain search stands.
            with suppress(DomainError):
                results |= queryset.filter(phone=normalize_phone(digits))
        return results, duplicates


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "created_at", "refreshed_at", "expires_at", "revoked_at")
    raw_id_fields = ("user",)
    readonly_fields = ("refresh_hash", "previous_refresh_hash")


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """Evidence of what each consumer agreed to: read-only, never edited or deleted here."""

    list_display = ("user", "document", "version", "channel", "given_at", "ip")
    list_filter = ("document", "version", "channel")
    raw_id_fields = ("user",)
    date_hierarchy = "given_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WeChatIdentity)
class WeChatIdentityAdmin(admin.ModelAdmin):
    list_display = ("user", "app_id", "openid", "created_at")
    list_filter = ("app_id",)
    # Support finds a consumer by the full OpenID they read out ("=": exact match).
    search_fields = ("=openid",)
    raw_id_fields = ("user",)
