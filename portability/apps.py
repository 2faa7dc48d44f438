from django.apps import AppConfig


class PortabilityConfig(AppConfig):
    """Moving one merchant between databases (``manage.py move_merchant``); no models."""

    name = "portability"
    verbose_name = "Portability"
