from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "points"
    verbose_name = "Points ledger"

    def ready(self) -> None:
        from core.db.functions import install_on_migrate

        install_on_migrate(self, "sql/points_post.sql")

        from accounts.merge import MergeStep, register
        from points import merge

        # First of the merge's steps: it locks both wallets before anything else moves.
        register(MergeStep("points", 10, merge.holdings, merge.merge_wallets))
