from django.apps import AppConfig


class EarningConfig(AppConfig):
    name = "earning"
    verbose_name = "Merchant earning API"

    def ready(self) -> None:
        from accounts.phones import on_phone_proven
        from earning import services

        # Awards that waited for a phone are credited as soon as it signs up or is bound.
        on_phone_proven("earning", services.credit_pending)
