from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "points"
    verbose_name = "Points ledger"

    def ready(self) -> None:
        from core.db.functions import install_on_migrate

        install_on_migrate(self, "sql/points_post.sql")
