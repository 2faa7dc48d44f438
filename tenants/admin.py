from django.contrib import admin

from tenants.models import Domain, Membership, Merchant


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
