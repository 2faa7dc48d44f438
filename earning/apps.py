from django.apps import AppConfig


class EarningConfig(AppConfig):
    name = "earning"
    verbose_name = "Merchant earning API"

    def ready(self) -> None:
        from accounts.models import User
        from accounts.signals import phone_proven
        from earning import services

        # Awards that waited for a phone are credited as soon as it signs up or is bound.
        phone_proven.connect(
            lambda user, **_signal: services.credit_pending(user),
            sender=User,
            weak=False,  # a lambda nothing else holds
            dispatch_uid="earning",
        )
