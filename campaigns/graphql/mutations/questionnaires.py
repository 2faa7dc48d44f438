"""Questionnaire mutations: answer one (consumer API); create one, edit its questions and
export its responses (merchant API, operator).

Activation, pause and end are the campaign mutations (``mutations.campaigns``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import graphene

from api.mutations import DomainMutation
from api.permissions import (
    as_consumer,
    client_ip,
    gated_consumer,
    require_consumer,
    require_membership,
)
from api.scalars import BigInt, JSONString
from campaigns.error_codes import CampaignErrorCode
from campaigns.graphql.inputs import aware
from campaigns.graphql.types.prizes import DrawnPrize, verify_url
from campaigns.graphql.types.questionnaires import (
    QuestionnaireExportFormatEnum,
    QuestionnaireNode,
    SubmittedResponse,
    questionnaire_by_id,
)
from campaigns.models import CampaignKind, Questionnaire
from campaigns.questionnaires import services as questionnaires
from campaigns.questionnaires.links import find_campaign, link_not_found
from core.error_codes import CoreErrorCode
from core.errors import DomainError, ErrorCodeEnum
from tenants.error_codes import MerchantErrorCode
from tenants.models import Role

# --- Consumer API -----------------------------------------------------------------


class SubmitResponse(DomainMutation):
    """Answer a questionnaire and earn its points, once per consumer.

    Invalid answers come back as one error per question (`field` = the question id:
    REQUIRED, INVALID_OPTION, TOO_MANY_SELECTIONS, OUT_OF_RANGE, TEXT_TOO_LONG,
    HIDDEN_QUESTION_ANSWERED, …) and nothing is stored. A retry with the same
    `idempotencyKey` answers `replayed: true`; another submission ALREADY_RESPONDED;
    after the cap BUDGET_EXHAUSTED. A prize questionnaire (its form has `prizeTiers`)
    needs a `nonce` (INVALID_DRAW_NONCE otherwise) and answers its draw in `prize`.
    """

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "idempotencyKey": CoreErrorCode.INVALID_IDEMPOTENCY_KEY
    }
    checks_session = True

    class Arguments:
        link = graphene.String(required=True)
        answers = JSONString(required=True, description="{question id: answer}.")
        idempotency_key = graphene.String(required=True)
        share_with_merchant = graphene.Boolean(
            default_value=False,
            description=(
                "The consumer ticked the box to share their data with the questionnaire's "
                "merchant (asked with MERCHANT_CONSENT_REQUIRED the first time, never "
                "pre-ticked)."
            ),
        )
        nonce = graphene.String(
            description="For a prize questionnaire: a fresh random value the page makes per "
            "submit (16 to 64 letters, digits, - or _), mixed into the draw."
        )

    response = graphene.Field(SubmittedResponse)
    balance = BigInt(description="The wallet balance after the reward.")
    replayed = graphene.Boolean()
    prize = graphene.Field(DrawnPrize, description="A prize questionnaire's draw; else null.")

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        link: str,
        answers: Any,
        idempotency_key: str,
        share_with_merchant: bool = False,
        nonce: str | None = None,
    ) -> SubmitResponse:
        with gated_consumer(info) as bearer:
            if bearer is None:
                require_consumer(info)  # staff: PERMISSION_DENIED before a link's NOT_FOUND
            # The merchant's row and schema are the function's to read (decision 0150); the
            # campaign a link's key names is remembered after its first submission.
            merchant_id, campaign_id = find_campaign(link, CampaignKind.QUESTIONNAIRE)
            arguments = (answers, idempotency_key, share_with_merchant, client_ip(info.context))
            try:
                # A session this process has not checked: the function's call checks it,
                # and the lazy user is read only if the submit leaves that call (0344).
                result = as_consumer(
                    info,
                    bearer,
                    lambda consumer, gate: questionnaires.submit_to(
                        merchant_id, consumer, campaign_id, *arguments, nonce, gate=gate
                    ),
                )
            except DomainError as exc:
                if exc.code == CoreErrorCode.NOT_FOUND:
                    raise link_not_found() from exc
                raise
        response = result.response
        version = response.version.number
        return cls(
            response=SubmittedResponse(
                points=response.points, submitted_at=response.submitted_at, version=version
            ),
            balance=result.balance,
            replayed=result.replayed,
            prize=DrawnPrize.from_prize(result.prize, verify_url(info, merchant_id, campaign_id))
            if result.prize
            else None,
        )


# --- Merchant API -----------------------------------------------------------------


def _reload(campaign_id: int) -> Questionnaire:
    """The questionnaire as the payload shows it: its campaign and version loaded with it."""
    return Questionnaire.objects.select_related("campaign", "current_version").get(
        campaign_id=campaign_id
    )


class CreateQuestionnaire(DomainMutation):
    """Create a questionnaire campaign in draft (operator). Activating it (the campaign's
    `activateCampaign`) reserves `maxRewardedResponses x pointsPerResponse`."""

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "name": MerchantErrorCode.INVALID_NAME,
        "endsAt": CampaignErrorCode.INVALID_DATES,
    }

    class Arguments:
        name = graphene.String(required=True)
        description = graphene.String(
            default_value="", description="Several lines, at most 5,000 characters."
        )
        points_per_response = graphene.Int(required=True, description="1 to 1,000,000.")
        max_rewarded_responses = graphene.Int(required=True, description="1 to 10,000,000.")
        questions = JSONString(required=True, description="A list of questions.")
        starts_at = graphene.DateTime()
        ends_at = graphene.DateTime()

    questionnaire = graphene.Field(QuestionnaireNode)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> CreateQuestionnaire:
        membership = require_membership(info, Role.OPERATOR)
        campaign = questionnaires.create_questionnaire_campaign(
            name=kwargs["name"],
            description=kwargs.get("description") or "",
            questions=kwargs["questions"],
            points_per_response=kwargs["points_per_response"],
            max_rewarded_responses=kwargs["max_rewarded_responses"],
            starts_at=aware(kwargs.get("starts_at")),
            ends_at=aware(kwargs.get("ends_at")),
            created_by=membership.acting_user,
        )
        return cls(questionnaire=_reload(campaign.pk))


class EditQuestions(DomainMutation):
    """Replace the questions (operator). Once someone has answered, this makes a new
    version; earlier responses keep theirs."""

    class Arguments:
        id = graphene.ID(required=True)
        questions = JSONString(required=True)

    questionnaire = graphene.Field(QuestionnaireNode)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, id: str, questions: Any
    ) -> EditQuestions:
        require_membership(info, Role.OPERATOR)
        questionnaire = questionnaire_by_id(info, id)
        questionnaires.edit_questions(questionnaire.campaign, questions)
        return cls(questionnaire=_reload(questionnaire.campaign_id))


class RequestQuestionnaireExport(DomainMutation):
    """Render every response as CSV or XLSX in the background (operator).

    `downloadUrl` is valid for 15 minutes; it answers 202 until the file is ready.
    """

    class Arguments:
        id = graphene.ID(required=True)
        format = QuestionnaireExportFormatEnum(required=True)

    download_url = graphene.String()

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, id: str, format: Any
    ) -> RequestQuestionnaireExport:
        membership = require_membership(info, Role.OPERATOR)
        questionnaire = questionnaire_by_id(info, id)
        fmt = getattr(format, "value", format)
        path = questionnaires.request_export(membership.merchant_id, questionnaire.campaign, fmt)
        return cls(download_url=info.context.build_absolute_uri(path))
