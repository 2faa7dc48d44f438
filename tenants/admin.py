from django.contrib import admin

from tenants.models import ApiKey, AuditEvent, Domain, Membership, Merchant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "merchant"
    extra = 0
    raw_id_fields = ("user", "invited_by")


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "status", "points_expiry_days", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "name", "contact_email")
    # The schema name is fixed at onboarding; merchants are created by the onboarding
    # service (manage.py create_merchant), which also creates the schema.
    readonly_fields = ("schema_name", "slug", "created_at")
    inlines = (DomainInline, MembershipInline)

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made and revoked by the merchant's admins through the API (the secret is
    shown only to them, once); operators here only look."""

    list_display = ("prefix", "name", "merchant", "created_at", "last_used_at", "revoked_at")
    list_filter = ("merchant",)
    search_fields = ("prefix", "name")
    readonly_fields = tuple(f.name for f in ApiKey._meta.fields)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the table is append-only (a trigger refuses UPDATE and DELETE).
    Staff sign-in attempts (no merchant) are seen only here."""

    list_display = ("created_at", "merchant", "actor_label", "mutation", "result", "ip")
    list_filter = ("mutation", "result")
    search_fields = ("actor_label", "mutation")
    readonly_fields = tuple(f.name for f in AuditEvent._meta.fields)
    raw_id_fields = ("merchant", "actor_user", "api_key")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
