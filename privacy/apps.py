from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """Consumers' personal-data rights (PIPL): consent to share with each merchant, a copy
    of their data, the deletion of their account."""

    name = "privacy"
    verbose_name = _("Personal data")

    def ready(self) -> None:
        from core.db.functions import install_on_migrate

        install_on_migrate(self, "sql/privacy_consented.sql")

        from accounts.merge import MergeStep
        from accounts.merge import register as register_step
        from accounts.models import User
        from accounts.signals import signed_in
        from privacy import consent, erasure, personal_data
        from privacy.parts import PersonalDataPart, register

        # Last of the erasure's parts: the others still find the account's identities.
        register(PersonalDataPart("account", 100, personal_data.copy, personal_data.erase))
        register_step(MergeStep("privacy", 40, lambda consumer_id: {}, consent.move_on_merge))
        signed_in.connect(erasure.cancel_on_sign_in, sender=User, dispatch_uid="privacy")
