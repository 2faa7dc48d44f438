from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from accounts.models import AuthSession, Consent, User, WeChatIdentity


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
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


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
