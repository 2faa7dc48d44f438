from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Campaigns, code batches, questionnaires and claims: tables in each merchant's schema."""

    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from core.db.functions import install_on_migrate

        # In the public schema: the function takes the merchant and sets its own path.
        install_on_migrate(
            self,
            "sql/campaigns_claimable.sql",
            "sql/campaigns_claim_limit.sql",
            "scan/sql/campaigns_claim_code.sql",
            "questionnaires/sql/campaigns_submit_response.sql",
            "prizes/sql/campaigns_prize_draw.sql",
            "prizes/sql/campaigns_prize_coupon.sql",
            "prizes/sql/campaigns_prize_pay.sql",
            "prizes/sql/campaigns_claim_prize.sql",
            "questionnaires/sql/campaigns_submit_prize.sql",
        )

        from accounts.merge import MergeStep, register
        from campaigns import merge

        register(MergeStep("campaigns", 30, lambda consumer_id: {}, merge.move))

        from campaigns import personal_data
        from privacy.parts import PersonalDataPart
        from privacy.parts import register as register_part

        register_part(PersonalDataPart("campaigns", 30, personal_data.copy, personal_data.erase))
