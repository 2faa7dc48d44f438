from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Campaigns, code batches, questionnaires and claims: tables in each merchant's schema."""

    name = "campaigns"
    verbose_name = "Campaigns"
