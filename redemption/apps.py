from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RedemptionConfig(AppConfig):
    """The shared mall (public schema): products, stock, orders, coupons."""

    name = "redemption"
    verbose_name = _("Mall")

    def ready(self) -> None:
        from core.db.functions import install_on_migrate

        install_on_migrate(self, "sql/redemption_redeem.sql")

        from accounts.merge import MergeStep, register
        from redemption import merge

        register(MergeStep("mall", 20, merge.holdings, merge.move))

        from privacy.parts import PersonalDataPart
        from privacy.parts import register as register_part
        from redemption import personal_data

        register_part(PersonalDataPart("mall", 20, personal_data.copy, personal_data.erase))
