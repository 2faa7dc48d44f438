"""The campaigns' mutations, one module per family, and the root pieces ``api.schema``
stitches into the two schemas.

The fields are listed in the order the SDL snapshots (``graphql/*.graphql``) have them:
add new ones at the end.
"""

from __future__ import annotations

import graphene

from campaigns.graphql.mutations import batches, campaigns, claims, exports, questionnaires


class ConsumerMutations(graphene.ObjectType):
    submit_response = questionnaires.SubmitResponse.Field()
    claim_code = claims.ClaimCode.Field()


class MerchantMutations(graphene.ObjectType):
    create_questionnaire = questionnaires.CreateQuestionnaire.Field()
    edit_questions = questionnaires.EditQuestions.Field()
    request_questionnaire_export = questionnaires.RequestQuestionnaireExport.Field()
    request_batch_export = exports.RequestBatchExport.Field()
    create_scan_campaign = campaigns.CreateScanCampaign.Field()
    update_campaign = campaigns.UpdateCampaign.Field()
    activate_campaign = campaigns.ActivateCampaign.Field()
    pause_campaign = campaigns.PauseCampaign.Field()
    end_campaign = campaigns.EndCampaign.Field()
    create_code_batch = batches.CreateCodeBatch.Field()
    void_code_batch = batches.VoidCodeBatch.Field()
