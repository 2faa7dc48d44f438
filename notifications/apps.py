from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """SMS to consumers (points expiring soon, order shipped) and their opt-outs."""

    name = "notifications"
    verbose_name = "Consumer notifications"
