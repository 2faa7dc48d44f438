from django.apps import AppConfig


class DealersConfig(AppConfig):
    """Dealers, their sales regions and diversion events: tables in each merchant's schema."""

    name = "dealers"
    verbose_name = "Dealers and diversion"

    def ready(self) -> None:
        # campaigns knows nothing of dealers: it calls what is registered with it.
        from campaigns.scan import claims, events
        from dealers import diversion

        events.on_written(diversion.detect)
        claims.guard_located(diversion.refuse_if_diverted)
