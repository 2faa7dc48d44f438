from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse

from config.errors import DomainError
from points import services as points_services
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


class TopUpForm(forms.Form):
    """A payment received from a merchant: what ``points.services.fund_with_money`` needs."""

    amount = forms.DecimalField(min_value=Decimal("0.01"), decimal_places=2, label="Amount")
    currency = forms.CharField(initial="CNY", max_length=3)
    rate = forms.DecimalField(
        initial=Decimal(100), min_value=Decimal("0.0001"), label="Points per unit"
    )
    payment_reference = forms.CharField(max_length=100)


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

    def get_urls(self) -> list[URLPattern]:
        top_up = path(
            "<int:pk>/top-up/",
            self.admin_site.admin_view(self.top_up_view),
            name="tenants_merchant_top_up",
        )
        return [top_up, *super().get_urls()]

    def top_up_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Record money received: the budget is credited through the ledger, once per
        payment reference (the service is idempotent)."""
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        merchant = get_object_or_404(Merchant, pk=pk)
        form = TopUpForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data: dict[str, Any] = form.cleaned_data
            currency = data["currency"].upper()
            minor = data["amount"] * 10 ** points_services.CURRENCY_EXPONENT.get(currency, 2)
            try:
                if minor != minor.to_integral_value():
                    raise DomainError("INVALID_AMOUNT", f"{currency} has no such fraction.")
                funding = points_services.fund_with_money(
                    merchant,
                    amount_minor=int(minor),
                    currency=currency,
                    rate=data["rate"],
                    payment_reference=data["payment_reference"],
                    recorded_by=request.user,  # type: ignore[arg-type]
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    f"{merchant.slug}: {funding.points:,} points for {funding.reference}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:tenants_merchant_change", args=[merchant.pk])
                )
        context = {**self.admin_site.each_context(request), "merchant": merchant, "form": form}
        return render(request, "admin/tenants/merchant/top_up.html", context)

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
