from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import staff_user
from core.errors import DomainError
from core.text import TextKind, TextRulesFormMixin
from points import services as points_services
from points.error_codes import LedgerErrorCode
from points.models import Funding
from tenants.lifecycle import change_status
from tenants.models import (
    ApiKey,
    AuditEvent,
    ComponentVerifyTicket,
    Domain,
    Membership,
    Merchant,
    MerchantApplication,
    MerchantQuerySet,
    MerchantStatus,
    OfficialAccount,
    Role,
)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "merchant"
    extra = 0
    raw_id_fields = ("user", "invited_by")


class TopUpForm(TextRulesFormMixin, forms.Form):
    """A payment received from a merchant: what ``points.services.fund_with_money`` needs."""

    text_rules: ClassVar[dict[str, tuple[TextKind, int]]] = {
        "currency": (TextKind.SINGLE_LINE, 3),
        "payment_reference": (TextKind.SINGLE_LINE, 100),
    }

    amount = forms.DecimalField(
        min_value=Decimal("0.01"), decimal_places=2, label=gettext_lazy("Amount")
    )
    currency = forms.CharField(initial="CNY", max_length=3, label=gettext_lazy("currency"))
    rate = forms.DecimalField(
        initial=Decimal(100), min_value=Decimal("0.0001"), label=gettext_lazy("Points per unit")
    )
    payment_reference = forms.CharField(max_length=100, label=gettext_lazy("Payment reference"))


class FirstTopUpForm(TopUpForm):
    """Approving a merchant offers its first top-up: optional, but a payment recorded
    needs its reference (what makes it count once)."""

    amount = forms.DecimalField(
        min_value=Decimal("0.01"),
        decimal_places=2,
        required=False,
        label=gettext_lazy("First top-up amount (optional)"),
    )
    currency = forms.CharField(
        initial="CNY", max_length=3, required=False, label=gettext_lazy("currency")
    )
    rate = forms.DecimalField(
        initial=Decimal(100),
        min_value=Decimal("0.0001"),
        required=False,
        label=gettext_lazy("Points per unit"),
    )
    payment_reference = forms.CharField(
        max_length=100, required=False, label=gettext_lazy("Payment reference")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("amount"):
            if not data.get("payment_reference"):
                self.add_error(
                    "payment_reference",
                    _("A top-up needs the payment's reference: it counts once."),
                )
            for name in ("currency", "rate"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, forms.Field.default_error_messages["required"])
        return data


def record_top_up(request: HttpRequest, merchant: Merchant, data: dict[str, Any]) -> Funding:
    """Credit ``merchant``'s budget through the ledger for the payment a top-up form
    describes (``points.services.fund_with_money``: once per payment reference)."""
    currency = data["currency"].upper()
    minor = data["amount"] * 10 ** points_services.CURRENCY_EXPONENT.get(currency, 2)
    if minor != minor.to_integral_value():
        raise DomainError(
            LedgerErrorCode.INVALID_AMOUNT,
            _("%(currency)s has no such fraction.") % {"currency": currency},
        )
    return points_services.fund_with_money(
        merchant,
        amount_minor=int(minor),
        currency=currency,
        rate=data["rate"],
        payment_reference=data["payment_reference"],
        recorded_by=staff_user(request),
    )


def _topped_up(merchant: Merchant, funding: Funding) -> str:
    return _("%(merchant)s: %(points)s points for %(reference)s.") % {
        "merchant": merchant.slug,
        "points": f"{funding.points:,}",
        "reference": funding.reference,
    }


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "status", "points_expiry_days", "created_at", "provisioned_at")
    list_filter = ("status",)
    search_fields = ("slug", "name", "contact_email")
    # The schema name is fixed at onboarding; merchants are created by the onboarding
    # service (manage.py create_merchant) or a sign-up, and get their schema when
    # approved. The status moves only through the actions below (tenants.lifecycle):
    # approve, suspend, reinstate (applications are decided on "Merchant applications");
    # never by editing the field.
    readonly_fields = (
        "schema_name",
        "slug",
        "status",
        "created_at",
        "provisioned_at",
        "reviewed_at",
        "reviewed_by",
        # Set by the merchant in the console, where tenants.branding checks it.
        "logo",
    )
    inlines = (DomainInline, MembershipInline)
    actions = ("approve", "suspend", "reinstate")

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
            try:
                funding = record_top_up(request, merchant, form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, _topped_up(merchant, funding), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:tenants_merchant_change", args=[merchant.pk])
                )
        context = {**self.admin_site.each_context(request), "merchant": merchant, "form": form}
        return render(request, "admin/tenants/merchant/top_up.html", context)

    @admin.action(
        description=gettext_lazy(
            "Approve the selected pending merchants (creates their schema; asks to confirm)"
        )
    )
    def approve(self, request: HttpRequest, merchants: QuerySet[Merchant]) -> HttpResponse | None:
        return _approve(self, request, merchants)

    @admin.action(
        description=gettext_lazy("Suspend the selected merchants (their campaigns stop awarding)")
    )
    def suspend(self, request: HttpRequest, merchants: QuerySet[Merchant]) -> None:
        _move(self, request, merchants, MerchantStatus.SUSPENDED)

    @admin.action(description=gettext_lazy("Reinstate the selected suspended merchants"))
    def reinstate(self, request: HttpRequest, merchants: QuerySet[Merchant]) -> None:
        _move(
            self, request, merchants.filter(status=MerchantStatus.SUSPENDED), MerchantStatus.ACTIVE
        )

    def has_add_permission(self, request: object) -> bool:
        return False


def _move(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    merchants: Iterable[Merchant],
    status: str,
    note: str = "",
) -> list[Merchant]:
    """Move each merchant through ``tenants.lifecycle``; report each refusal or failure."""
    moved = []
    for merchant in merchants:
        try:
            moved.append(change_status(merchant, status, by=staff_user(request), note=note))
        except DomainError as exc:
            model_admin.message_user(request, f"{merchant.slug}: {exc.message}", messages.ERROR)
    if moved:
        done = {
            MerchantStatus.ACTIVE: _("%(n)d merchant(s) now active."),
            MerchantStatus.SUSPENDED: _("%(n)d merchant(s) now suspended."),
            MerchantStatus.REJECTED: _("%(n)d merchant(s) now rejected."),
        }[MerchantStatus(status)]
        model_admin.message_user(request, done % {"n": len(moved)}, messages.SUCCESS)
    return moved


def _approve(
    model_admin: admin.ModelAdmin, request: HttpRequest, merchants: QuerySet[Merchant]
) -> HttpResponse | None:
    """Approving asks first, as deleting does: it creates a schema and emails the
    applicant, and cannot be undone. The confirmation page also offers the merchant's
    first top-up (one merchant at a time: a payment comes from one merchant)."""
    pending = list(merchants.filter(status=MerchantStatus.PENDING))
    single = len(pending) == 1
    form = FirstTopUpForm(request.POST if "confirm" in request.POST else None)
    if form.is_bound and form.is_valid():
        approved = _move(model_admin, request, pending, MerchantStatus.ACTIVE)
        if single and approved and form.cleaned_data.get("amount"):
            try:
                funding = record_top_up(request, approved[0], form.cleaned_data)
            except DomainError as exc:
                # Approved all the same: the top-up page records the payment later.
                model_admin.message_user(
                    request, f"{approved[0].slug}: {exc.message}", messages.ERROR
                )
            else:
                model_admin.message_user(
                    request, _topped_up(approved[0], funding), messages.SUCCESS
                )
        return None
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Approve merchants"),
        "merchants": pending,
        "form": form if single else None,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": opts,
        "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }
    return TemplateResponse(request, "admin/tenants/merchant/approve.html", context)


class ApplicationStatusFilter(admin.SimpleListFilter):
    """Pending applications by default: what the desk has to decide."""

    title = gettext_lazy("status")
    parameter_name = "decision"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("pending", _("Waiting for review")),
            ("rejected", _("Declined")),
            ("all", _("All")),
        ]

    def value(self) -> str:
        return super().value() or "pending"

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset if value == "all" else queryset.filter(status=value)


class RejectForm(TextRulesFormMixin, forms.Form):
    text_rules: ClassVar[dict[str, tuple[TextKind, int]]] = {"note": (TextKind.MULTI_LINE, 1000)}
    note = forms.CharField(
        label=gettext_lazy("Reason (sent to the applicant; optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )


@admin.register(MerchantApplication)
class MerchantApplicationAdmin(admin.ModelAdmin):
    """The operators' desk for self-service sign-ups: review, then approve or reject.

    Approving provisions the merchant (schema, budget) and activates it; rejecting
    declines it for good. Both email the applicant (``tenants.lifecycle``).
    """

    list_display = (
        "name",
        "slug",
        "applicant",
        "contact_email",
        "contact_phone",
        "created_at",
        "status",
        "reviewed_at",
    )
    list_filter = (ApplicationStatusFilter,)
    search_fields = ("slug", "name", "contact_email", "memberships__user__email")
    ordering = ("-created_at",)
    fields = (
        "name",
        "slug",
        "status",
        "applicant",
        "contact_email",
        "contact_phone",
        "about",
        "language",
        "created_at",
        "reviewed_at",
        "reviewed_by",
        "review_note",
    )
    readonly_fields = fields
    actions = ("approve", "reject")

    def get_queryset(self, request: HttpRequest) -> MerchantQuerySet:
        owners = Membership.objects.filter(role=Role.OWNER).select_related("user")
        queryset = super().get_queryset(request)
        # The proxy has Merchant's manager; django-stubs sees a plain QuerySet.
        assert isinstance(queryset, MerchantQuerySet)
        return queryset.applications().prefetch_related(
            Prefetch("memberships", queryset=owners, to_attr="owners")
        )

    @admin.display(description=gettext_lazy("Applicant"))
    def applicant(self, merchant: MerchantApplication) -> str:
        owners = getattr(merchant, "owners", None)
        if owners is None:
            owners = list(merchant.memberships.filter(role=Role.OWNER).select_related("user"))
        return ", ".join(f"{m.user.name} <{m.user.email}>" for m in owners) or "—"

    @admin.action(
        description=gettext_lazy(
            "Approve: create the schema and budget, activate, email (asks to confirm)"
        )
    )
    def approve(self, request: HttpRequest, merchants: QuerySet[Merchant]) -> HttpResponse | None:
        return _approve(self, request, merchants)

    @admin.action(
        description=gettext_lazy("Reject the selected applications (asks for a reason), email")
    )
    def reject(self, request: HttpRequest, merchants: QuerySet[Merchant]) -> HttpResponse | None:
        pending = merchants.filter(status=MerchantStatus.PENDING)
        form = RejectForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            _move(self, request, pending, MerchantStatus.REJECTED, form.cleaned_data["note"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reject merchant applications"),
            "applications": pending,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/tenants/merchantapplication/reject.html", context)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # A pending application is decided, not deleted (the applicant is told).
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Merchant | None = None) -> bool:
        # Deleting a declined application frees its slug; it never had a schema.
        return (
            obj is not None
            and obj.status == MerchantStatus.REJECTED
            and super().has_delete_permission(request, obj)
        )


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


@admin.register(OfficialAccount)
class OfficialAccountAdmin(admin.ModelAdmin):
    """Merchants' WeChat official accounts, as WeChat described them when authorised.

    Read-only: authorisation happens in WeChat (the merchant's console), cancellation too
    (the ``unauthorized`` push). The refresh token is never shown: it acts as the account.
    """

    list_display = ("name", "app_id", "merchant", "status", "service_type", "verify_type")
    list_filter = ("status", "service_type")
    search_fields = ("name", "app_id", "merchant__slug")
    fields = (
        "merchant",
        "app_id",
        "name",
        "principal_name",
        "user_name",
        "status",
        "service_type",
        "verify_type",
        "func_ids",
        "authorized_at",
        "updated_at",
        "unauthorized_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(ComponentVerifyTicket)
class ComponentVerifyTicketAdmin(admin.ModelAdmin):
    """When WeChat last pushed the verify ticket (every ten minutes when all is well)."""

    list_display = ("component_app_id", "received_at")
    fields = ("component_app_id", "received_at")
    readonly_fields = fields

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
