from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    name = "points"
    verbose_name = _("Points ledger")

    def ready(self) -> None:
        from core.db.functions import install_on_migrate

        install_on_migrate(self, "sql/points_post.sql", "sql/points_wallet.sql")

        from accounts.merge import MergeStep, register
        from points import merge

        # First of the merge's steps: it locks both wallets before anything else moves.
        register(MergeStep("points", 10, merge.holdings, merge.merge_wallets))

        from points import personal_data
        from privacy.parts import PersonalDataPart
        from privacy.parts import register as register_part

        # First of the erasure's parts: the wallet is forfeited before anything else goes.
        register_part(PersonalDataPart("points", 10, personal_data.copy, personal_data.forfeit))
