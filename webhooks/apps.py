from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Merchants' webhook endpoints and their deliveries (public schema: one outbox)."""

    name = "webhooks"
    verbose_name = "Webhooks"
