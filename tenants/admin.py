from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.errors import DomainError
from tenants.lifecycle import change_status
from tenants.models import ApiKey, AuditEvent, Domain, Membership, Merchant, MerchantStatus


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
    # The status moves only through the actions below (tenants.lifecycle): approve,
    # suspend, reinstate; never by editing the field.
    readonly_fields = ("schema_name", "slug", "status", "created_at")
    inlines = (DomainInline, MembershipInline)
    actions = ("approve", "suspend", "reinstate")

    def _move(self, request: HttpRequest, merchants: QuerySet[Merchant], status: str) -> None:
        moved = 0
        for merchant in merchants:
            try:
                change_status(merchant, status, by=request.user)  # type: ignore[arg-type]
            except DomainError as exc:
                self.message_user(request, f"{merchant.slug}: {exc.message}", messages.ERROR)
            else:
                moved += 1
        if moved:
            self.message_user(request, f"{moved} merchant(s) now {status}.", messages.SUCCESS)

    @admin.action(description="Approve the selected pending merchants")
    def approve(self, request: HttpRequest, merchants: QuerySet[Merchant]) -> None:
        self._move(request, merchants.filter(status=MerchantStatus.PENDING), MerchantStatus.ACTIVE)

    @admin.action(description="Suspend the selected merchants (their campaigns stop awarding)")
    def suspend(self, request: HttpRequest, merchants: QuerySet[Merchant]) -> None:
        self._move(request, merchants, MerchantStatus.SUSPENDED)

    @admin.action(description="Reinstate the selected suspended merchants")
    def reinstate(self, request: HttpRequest, merchants: QuerySet[Merchant]) -> None:
        self._move(
            request, merchants.filter(status=MerchantStatus.SUSPENDED), MerchantStatus.ACTIVE
        )

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
