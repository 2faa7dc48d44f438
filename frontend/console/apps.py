from django.apps import AppConfig


class MerchantConsoleConfig(AppConfig):
    """The merchant console: talks only to the merchant API (``/merchant/graphql/``)."""

    name = "frontend.console"
    label = "merchant_console"
