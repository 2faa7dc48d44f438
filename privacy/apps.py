from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """Consumers' personal-data rights (PIPL): consent to share with each merchant."""

    name = "privacy"
    verbose_name = _("Personal data")
