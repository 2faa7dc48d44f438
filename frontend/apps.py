from django.apps import AppConfig


class FrontendConfig(AppConfig):
    """What the consumer web and the merchant console share: the GraphQL client,
    the base layout and the page helpers (``frontend.pages``)."""

    name = "frontend"
    label = "frontend"
