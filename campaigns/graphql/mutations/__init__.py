"""The campaigns' mutations, one module per family, and the root pieces ``api.schema``
stitches into the two schemas.

The fields are listed in the order the SDL snapshots (``graphql/*.graphql``) have them:
add new ones at the end.
"""

from __future__ import annotations

import graphene

from campaigns.graphql.mutations.batches import CreateCodeBatch, VoidCodeBatch
from campaigns.graphql.mutations.campaigns import (
    ActivateCampaign,
    CreateScanCampaign,
    EndCampaign,
    PauseCampaign,
    UpdateCampaign,
)
from campaigns.graphql.mutations.claims import ClaimCode
from campaigns.graphql.mutations.exports import RequestBatchExport
from campaigns.graphql.mutations.follow import (
    ClaimFollowReward,
    CreateFollowCampaign,
    FollowCode,
    MakeFollowPoster,
)
from campaigns.graphql.mutations.imports import CreateCodeImport
from campaigns.graphql.mutations.prizes import ClearPrizeTable, SetPrizeTable
from campaigns.graphql.mutations.questionnaires import (
    CreateQuestionnaire,
    EditQuestions,
    RequestQuestionnaireExport,
    SubmitResponse,
)


class ConsumerMutations(graphene.ObjectType):
    submit_response = SubmitResponse.Field()
    claim_code = ClaimCode.Field()
    follow_code = FollowCode.Field()
    claim_follow_reward = ClaimFollowReward.Field()


class MerchantMutations(graphene.ObjectType):
    create_questionnaire = CreateQuestionnaire.Field()
    edit_questions = EditQuestions.Field()
    request_questionnaire_export = RequestQuestionnaireExport.Field()
    request_batch_export = RequestBatchExport.Field()
    create_scan_campaign = CreateScanCampaign.Field()
    update_campaign = UpdateCampaign.Field()
    activate_campaign = ActivateCampaign.Field()
    pause_campaign = PauseCampaign.Field()
    end_campaign = EndCampaign.Field()
    create_code_batch = CreateCodeBatch.Field()
    void_code_batch = VoidCodeBatch.Field()
    set_prize_table = SetPrizeTable.Field()
    clear_prize_table = ClearPrizeTable.Field()
    create_code_import = CreateCodeImport.Field()
    create_follow_campaign = CreateFollowCampaign.Field()
    make_follow_poster = MakeFollowPoster.Field()
