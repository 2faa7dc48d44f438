"""The shared mall (public schema): products, coupons, addresses, orders, consignments."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Category(models.Model):
    slug = models.SlugField(max_length=60, unique=True, verbose_name=_("slug"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    position = models.PositiveIntegerField(default=0, verbose_name=_("position"))

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering: ClassVar = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class ProductStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    LISTED = "listed", _("Listed")
    DELISTED = "delisted", _("Delisted")


class ProductKind(models.TextChoices):
    PHYSICAL = "physical", _("Physical goods")
    COUPON = "coupon", _("Coupon")


class Product(models.Model):
    title = models.CharField(max_length=200, verbose_name=_("title"))
    description = models.TextField(blank=True)
    image_url = models.URLField(blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("category")
    )
    kind = models.CharField(max_length=16, choices=ProductKind.choices, verbose_name=_("kind"))
    points_price = models.PositiveIntegerField(verbose_name=_("points price"))
    # Units that can still be redeemed. For coupons: the unused coupons in the pool.
    stock = models.PositiveIntegerField(default=0, verbose_name=_("stock"))
    per_consumer_limit = models.PositiveIntegerField(null=True, blank=True)
    available_from = models.DateTimeField(null=True, blank=True)
    available_until = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16,
        choices=ProductStatus.choices,
        default=ProductStatus.DRAFT,
        verbose_name=_("status"),
    )
    # Null: supplied by the platform itself.
    supplier = models.ForeignKey(
        "tenants.Merchant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("supplier"),
    )
    # Title tokens (words and Chinese character bigrams) for full-text search.
    search = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering: ClassVar = ["-created_at", "-id"]
        indexes: ClassVar = [
            GinIndex(fields=["search"], name="product_search"),
            models.Index(fields=["status", "category", "points_price"], name="product_browse"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(points_price__gt=0), name="product_price_pos"
            ),
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="product_stock_not_neg"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_available(self, now: datetime) -> bool:
        """Whether it can be redeemed now: listed, and within its dates. (The redeem's
        SQL function states the same rule: tests/test_redeem_function.py.)"""
        return (
            self.status == ProductStatus.LISTED
            and (self.available_from is None or now >= self.available_from)
            and (self.available_until is None or now < self.available_until)
        )


class Coupon(models.Model):
    """One code of a coupon product's pool; given to exactly one order."""

    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="coupons", db_index=False
    )
    code = models.CharField(max_length=100)
    order = models.ForeignKey(
        "Order", on_delete=models.PROTECT, null=True, blank=True, related_name="coupons"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["product", "code"], name="coupon_unique_code"),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["product", "id"],
                condition=models.Q(order__isnull=True),
                name="coupon_unused",
            )
        ]

    def __str__(self) -> str:
        return f"coupon {self.pk} of {self.product_id}"


class Address(models.Model):
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses"
    )
    recipient = models.CharField(max_length=100)
    phone = models.CharField(max_length=20)
    region = models.CharField(max_length=200, help_text="Province, city, district")
    street = models.CharField(max_length=300)
    postal_code = models.CharField(max_length=12, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.recipient}, {self.region}"

    def snapshot(self) -> dict[str, str]:
        """Copied onto an order: editing the address book later must not move a parcel."""
        return {
            "recipient": self.recipient,
            "phone": self.phone,
            "region": self.region,
            "street": self.street,
            "postal_code": self.postal_code,
        }


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("Placed")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


class Order(models.Model):
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("product"),
        db_index=False,
    )
    supplier = models.ForeignKey(
        "tenants.Merchant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("supplier"),
        db_index=False,
    )
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    unit_points = models.PositiveIntegerField()
    total_points = models.PositiveBigIntegerField(verbose_name=_("total points"))
    status = models.CharField(max_length=16, choices=OrderStatus.choices, verbose_name=_("status"))
    address = models.JSONField(null=True, blank=True)
    transaction = models.ForeignKey(
        "points.Transaction", on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200)
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=60, blank=True)
    placed_at = models.DateTimeField(default=timezone.now, verbose_name=_("placed at"))
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering: ClassVar = ["-placed_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["consumer", "idempotency_key"], name="order_unique_idempotency"
            ),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="order_quantity_pos"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["consumer", "-placed_at"], name="order_consumer_recent"),
            models.Index(fields=["supplier", "status", "-placed_at"], name="order_supplier"),
            models.Index(fields=["product", "consumer"], name="order_product_consumer"),
        ]

    def __str__(self) -> str:
        return f"order {self.pk}: {self.quantity} x {self.product_id}"


class Consignment(models.Model):
    """Goods a merchant delivered to the mall: received quantity, agreed value, credit."""

    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="consignments", verbose_name=_("product")
    )
    receipt_reference = models.CharField(
        max_length=100, unique=True, verbose_name=_("receipt reference")
    )
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    unit_value_minor = models.PositiveBigIntegerField(verbose_name=_("unit value (minor units)"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    rate = models.DecimalField(max_digits=12, decimal_places=4, verbose_name=_("rate"))
    funding = models.OneToOneField("points.Funding", on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(default=timezone.now, verbose_name=_("approved at"))

    class Meta:
        verbose_name = _("consignment")
        verbose_name_plural = _("consignments")

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id} ({self.receipt_reference})"
