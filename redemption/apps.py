from django.apps import AppConfig


class RedemptionConfig(AppConfig):
    """The shared mall (public schema): products, stock, orders, coupons."""

    name = "redemption"
    verbose_name = "Mall"
