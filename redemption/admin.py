"""The platform operator's side of the mall: catalog, consignment approval, coupon pools,
orders.

Everything that moves points or stock goes through ``redemption.services``: approving
a consignment credits the supplier through the ledger (once per receipt reference,
however often the form is sent), uploading coupons grows the pool and the stock
together, and shipping or refunding follows the order lifecycle. The product form
never writes the live ``stock`` column: redemptions change it concurrently, so a
stale form would overwrite them. Stock is adjusted by a difference instead.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import staff_user
from accounts.models import mask_phone
from core.errors import DomainError
from core.text import TextKind, TextRulesFormMixin
from points.admin import ReadOnlyAdmin
from points.services import CURRENCY_EXPONENT
from redemption import services as mall
from redemption.models import (
    Category,
    Consignment,
    Order,
    OrderStatus,
    Product,
    ProductKind,
    ProductStatus,
)
from redemption.search import search_vector
from redemption.services import MAX_DESCRIPTION_LENGTH, MAX_TITLE_LENGTH

MAX_COUPON_FILE_BYTES = 10 * 1024 * 1024


def _refusal(exc: DomainError) -> str:
    return f"{exc.code}: {exc.message}"


class CategoryForm(TextRulesFormMixin, forms.ModelForm):
    text_rules: ClassVar[dict[str, tuple[TextKind, int]]] = {"name": (TextKind.SINGLE_LINE, 100)}

    class Meta:
        model = Category
        fields = ("name", "slug", "position")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ("name", "slug", "position")
    list_editable = ("position",)
    search_fields = ("name", "slug")


# --- Products ------------------------------------------------------------------------


class ProductForm(TextRulesFormMixin, forms.ModelForm):
    # The same characters as the API's consignProduct (core.text).
    text_rules: ClassVar[dict[str, tuple[TextKind, int]]] = {
        "title": (TextKind.SINGLE_LINE, MAX_TITLE_LENGTH),
        "description": (TextKind.MULTI_LINE, MAX_DESCRIPTION_LENGTH),
    }
    image_url = forms.URLField(required=False, max_length=200, assume_scheme="https")
    add_stock = forms.IntegerField(
        required=False,
        label=gettext_lazy("Add to stock"),
        help_text=gettext_lazy(
            "Units to add (negative: to remove), applied to the live stock so that "
            "redemptions meanwhile are kept. Coupon stock changes only by uploading codes."
        ),
    )

    class Meta:
        model = Product
        fields = (
            "title",
            "description",
            "image_url",
            "category",
            "kind",
            "supplier",
            "points_price",
            "per_consumer_limit",
            "available_from",
            "available_until",
            "status",
        )

    def clean_add_stock(self) -> int:
        delta = self.cleaned_data.get("add_stock") or 0
        kind = self.cleaned_data.get("kind") or getattr(self.instance, "kind", None)
        if delta and kind == ProductKind.COUPON:
            raise forms.ValidationError(_("Coupon stock is the pool: upload codes instead."))
        if abs(delta) > 10**6:
            raise forms.ValidationError(_("At most 1,000,000 units at a time."))
        return delta


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
    list_display = (
        "title",
        "kind",
        "status",
        "points_price",
        "stock",
        "supplier",
        "category",
        "created_at",
    )
    list_filter = ("status", "kind", "category")
    list_select_related = ("supplier", "category")
    search_fields = ("title",)
    readonly_fields = ("stock", "created_at")
    actions = ("list_products", "delist_products")

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None) -> Any:
        if obj is None:
            return self.readonly_fields
        # Orders and coupons depend on them: fixed once the product exists.
        return (*self.readonly_fields, "kind", "supplier")

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        if change:
            # Only the edited columns: never the stock the form loaded a while ago.
            columns = {field.name for field in Product._meta.concrete_fields}
            fields = [name for name in form.changed_data if name in columns]
            if fields:
                obj.save(update_fields=fields)
            if "title" in fields:
                Product.objects.filter(pk=obj.pk).update(search=search_vector(obj.title))
        else:
            obj.stock = 0
            mall.save_product(obj)
        delta = form.cleaned_data.get("add_stock") or 0
        if delta:
            moved = Product.objects.filter(pk=obj.pk, stock__gte=-delta).update(
                stock=F("stock") + delta
            )
            if not moved:
                self.message_user(
                    request, _("The stock is smaller than that: not changed."), messages.ERROR
                )
            obj.refresh_from_db(fields=["stock"])

    @admin.action(description=gettext_lazy("List selected products"))
    def list_products(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        # Consigned goods are listed by approving their receipt, which also credits them.
        waiting = queryset.filter(status=ProductStatus.IN_REVIEW, supplier__isnull=False)
        if waiting.exists():
            self.message_user(
                request,
                _("Consigned products in review are listed by approving their receipt."),
                messages.WARNING,
            )
        listed = queryset.exclude(pk__in=waiting.values("pk")).update(status=ProductStatus.LISTED)
        self.message_user(request, _("%(n)d products listed.") % {"n": listed})

    @admin.action(description=gettext_lazy("Delist selected products"))
    def delist_products(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        delisted = queryset.update(status=ProductStatus.DELISTED)
        self.message_user(request, _("%(n)d products delisted.") % {"n": delisted})

    # Custom pages: approve a consignment, upload coupon codes.

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/approve/",
                wrap(self.approve_view),
                name=f"{info[0]}_{info[1]}_approve",
            ),
            path(
                "<path:object_id>/coupons/",
                wrap(self.coupons_view),
                name=f"{info[0]}_{info[1]}_coupons",
            ),
            *super().get_urls(),
        ]

    def _product(self, request: HttpRequest, object_id: str) -> Product:
        product = self.get_object(request, unquote(object_id))
        if product is None:
            raise Http404(_("No such product."))
        if not self.has_change_permission(request, product):
            raise PermissionDenied
        return product

    def _change_url(self, product: Product) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[product.pk]
        )

    def _form_page(
        self, request: HttpRequest, product: Product, form: forms.Form, **context: Any
    ) -> TemplateResponse:
        return TemplateResponse(
            request,
            "admin/redemption/action_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": product,
                "form": form,
                **context,
            },
        )

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        product = self._product(request, object_id)
        form = ConsignmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            repeated = Consignment.objects.filter(
                receipt_reference=data["receipt_reference"]
            ).exists()
            try:
                consignment = mall.approve_consignment(
                    product, approved_by=staff_user(request), **data
                )
            except DomainError as exc:
                form.add_error(None, _refusal(exc))
            else:
                if repeated:
                    self.message_user(
                        request,
                        _("Receipt %(ref)s was already recorded: nothing was credited again.")
                        % {"ref": consignment.receipt_reference},
                        messages.WARNING,
                    )
                else:
                    self.message_user(
                        request,
                        _(
                            "Received %(q)d units; %(points)d points credited to %(merchant)s; "
                            "the product is listed."
                        )
                        % {
                            "q": consignment.quantity,
                            "points": consignment.funding.points,
                            "merchant": product.supplier,
                        },
                    )
                return HttpResponseRedirect(self._change_url(product))
        return self._form_page(
            request,
            product,
            form,
            title=_("Approve consignment"),
            submit_label=_("Approve and credit"),
            intro=_(
                "Record goods received from %(merchant)s for %(product)s. The supplier's "
                "budget is credited quantity x unit value x rate points, once per receipt."
            )
            % {"merchant": product.supplier or "-", "product": product},
        )

    def coupons_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        product = self._product(request, object_id)
        form = CouponUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                added = mall.upload_coupons(product, form.cleaned_data["file"])
            except DomainError as exc:
                form.add_error(None, _refusal(exc))
            else:
                product.refresh_from_db(fields=["stock"])
                self.message_user(
                    request,
                    _("Added %(n)d codes; the stock is now %(stock)d.")
                    % {"n": added, "stock": product.stock},
                )
                return HttpResponseRedirect(self._change_url(product))
        return self._form_page(
            request,
            product,
            form,
            title=_("Upload coupons"),
            submit_label=_("Upload"),
            intro=_(
                "A CSV file (UTF-8) with one code per line in the first column. A file "
                "with duplicate codes, or codes already in the pool, is refused whole."
            ),
        )


class ConsignmentForm(TextRulesFormMixin, forms.Form):
    text_rules: ClassVar[dict[str, tuple[TextKind, int]]] = {
        "receipt_reference": (TextKind.SINGLE_LINE, 100)
    }
    receipt_reference = forms.CharField(
        max_length=100,
        help_text=gettext_lazy("The warehouse receipt: approving it again credits nothing."),
    )
    quantity = forms.IntegerField(min_value=1, max_value=10**6)
    unit_value_minor = forms.IntegerField(
        min_value=1,
        max_value=10**12,
        label=gettext_lazy("Agreed unit value (minor units)"),
        help_text=gettext_lazy("In cents (fen): 12.50 CNY is 1250."),
    )
    currency = forms.ChoiceField(choices=[(c, c) for c in CURRENCY_EXPONENT], initial="CNY")
    rate = forms.DecimalField(
        max_digits=12,
        decimal_places=4,
        min_value=0,
        help_text=gettext_lazy("Points per major unit of the currency."),
    )

    def clean_receipt_reference(self) -> str:
        return self.cleaned_data["receipt_reference"].strip()


class CouponUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file of codes"))

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_COUPON_FILE_BYTES:
            raise forms.ValidationError(_("The file is over 10 MB."))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("The file must be UTF-8 text.")) from exc


# --- Orders and consignments (read-mostly) ------------------------------------------------


class ShipForm(TextRulesFormMixin, forms.Form):
    text_rules: ClassVar[dict[str, tuple[TextKind, int]]] = {
        "carrier": (TextKind.SINGLE_LINE, 60),
        "tracking_number": (TextKind.SINGLE_LINE, 60),
    }
    carrier = forms.CharField(max_length=60)
    tracking_number = forms.CharField(max_length=60)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    """Orders change only through their lifecycle (ship, deliver, complete, refund)."""

    list_display = (
        "id",
        "product",
        "consumer_phone",
        "supplier",
        "quantity",
        "total_points",
        "status",
        "placed_at",
    )
    list_filter = ("status",)
    list_select_related = ("product", "consumer", "supplier")
    search_fields = ("=id", "tracking_number", "product__title")
    exclude = ("consumer", "transaction", "idempotency_key")
    readonly_fields = (
        "product",
        "consumer_phone",
        "supplier",
        "quantity",
        "unit_points",
        "total_points",
        "status",
        "address",
        "carrier",
        "tracking_number",
        "placed_at",
        "shipped_at",
        "delivered_at",
        "completed_at",
        "cancelled_at",
    )
    actions = ("mark_delivered", "mark_completed", "refund_orders")

    # The page is read-only; the lifecycle moves by the actions and the ship page, which
    # need the change permission.

    def has_lifecycle_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("redemption.change_order")

    @admin.display(description=gettext_lazy("consumer"))
    def consumer_phone(self, order: Order) -> str:
        return mask_phone(order.consumer.phone or "")

    def _each(self, request: HttpRequest, queryset: QuerySet[Order], step: Any, done: str) -> None:
        moved = 0
        for order in queryset.order_by("id"):
            try:
                step(order)
            except DomainError as exc:
                self.message_user(request, f"#{order.pk} {_refusal(exc)}", messages.ERROR)
            else:
                moved += 1
        self.message_user(request, done % {"n": moved})

    @admin.action(
        description=gettext_lazy("Mark selected orders delivered"), permissions=["lifecycle"]
    )
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._each(
            request,
            queryset,
            lambda order: mall.advance(order, OrderStatus.DELIVERED),
            _("%(n)d orders marked delivered."),
        )

    @admin.action(
        description=gettext_lazy("Mark selected orders completed"), permissions=["lifecycle"]
    )
    def mark_completed(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._each(
            request,
            queryset,
            lambda order: mall.advance(order, OrderStatus.COMPLETED),
            _("%(n)d orders marked completed."),
        )

    @admin.action(
        description=gettext_lazy("Refund selected orders (points return)"),
        permissions=["lifecycle"],
    )
    def refund_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._each(
            request,
            queryset.select_related("supplier"),
            lambda order: mall.refund(order, order.supplier),
            _("%(n)d orders refunded."),
        )

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_ship"
        return [
            path("<path:object_id>/ship/", self.admin_site.admin_view(self.ship_view), name=name),
            *super().get_urls(),
        ]

    def ship_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Ship an order on its supplier's behalf (the platform ships its own goods, and
        consigned goods kept in its warehouse)."""
        order = self.get_object(request, unquote(object_id))
        if order is None:
            raise Http404(_("No such order."))
        if not request.user.has_perm("redemption.change_order"):
            raise PermissionDenied
        form = ShipForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                mall.ship(order, order.supplier, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, _refusal(exc))
            else:
                self.message_user(request, _("Order %(id)d shipped.") % {"id": order.pk})
                return HttpResponseRedirect(
                    reverse(
                        f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                        args=[order.pk],
                    )
                )
        return TemplateResponse(
            request,
            "admin/redemption/action_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": order,
                "form": form,
                "title": _("Ship order"),
                "submit_label": _("Mark shipped"),
            },
        )


@admin.register(Consignment)
class ConsignmentAdmin(ReadOnlyAdmin):
    """Approved receipts; recorded from a product's "Approve consignment" page."""

    list_display = (
        "receipt_reference",
        "product",
        "quantity",
        "unit_value_minor",
        "currency",
        "rate",
        "approved_by",
        "approved_at",
    )
    list_select_related = ("product", "approved_by")
    search_fields = ("receipt_reference", "product__title")
