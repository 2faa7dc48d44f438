"""Questionnaires in both APIs: the form a consumer answers (consumer API), and the
questionnaire with its results and responses (merchant API).

A questionnaire is a campaign of kind questionnaire: activation, pause and end are the
campaign mutations (``activateCampaign`` etc. with the questionnaire's ``campaign { id }``).
Consumers name it by its public link (``campaigns.questionnaires.links``).
"""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext as _
from graphene_django import DjangoConnectionField, DjangoObjectType

from api.permissions import require_membership
from api.scalars import BigInt, JSONString
from campaigns.graphql.nodes import MerchantNode, node_or_not_found
from campaigns.graphql.types.campaigns import CampaignNode, CampaignStatusEnum
from campaigns.graphql.types.scan import PreviewPrizeTier
from campaigns.models import Campaign, Questionnaire, Response
from campaigns.questionnaires import exports, results
from campaigns.questionnaires.links import questionnaire_link, questionnaire_url
from campaigns.questionnaires.services import FormState
from core.db import connection
from privacy.consent import identity_withheld, withheld_from

# --- Shared types -----------------------------------------------------------------


class QuestionOption(graphene.ObjectType):
    id = graphene.String(required=True)
    label = graphene.String(required=True)


class ShowIf(graphene.ObjectType):
    question = graphene.String(required=True)
    option = graphene.String(required=True)


class Question(graphene.ObjectType):
    """One question of a questionnaire version (definition in the API guide)."""

    id = graphene.String(required=True)
    type = graphene.String(
        required=True,
        description=(
            "single_choice, multiple_choice, short_text, long_text, rating (1-5), nps (0-10), "
            "number or date."
        ),
    )
    text = graphene.String(required=True)
    help = graphene.String(required=True)
    required = graphene.Boolean(required=True)
    options = graphene.List(graphene.NonNull(QuestionOption))
    min_selections = graphene.Int()
    max_selections = graphene.Int()
    min_length = graphene.Int()
    max_length = graphene.Int()
    min = graphene.Float()
    max = graphene.Float()
    show_if = graphene.Field(ShowIf)

    @staticmethod
    def _get(question: dict[str, Any], key: str) -> Any:
        return question.get(key)

    @staticmethod
    def resolve_show_if(question: dict[str, Any], info: graphene.ResolveInfo) -> ShowIf | None:
        condition = question.get("showIf")
        return ShowIf(**condition) if condition else None

    @staticmethod
    def resolve_options(
        question: dict[str, Any], info: graphene.ResolveInfo
    ) -> list[QuestionOption] | None:
        options = question.get("options")
        return [QuestionOption(**o) for o in options] if options is not None else None


for _name, _key in [
    ("id", "id"),
    ("type", "type"),
    ("text", "text"),
    ("help", "help"),
    ("required", "required"),
    ("min_selections", "minSelections"),
    ("max_selections", "maxSelections"),
    ("min_length", "minLength"),
    ("max_length", "maxLength"),
    ("min", "min"),
    ("max", "max"),
]:
    setattr(
        Question,
        f"resolve_{_name}",
        staticmethod(lambda q, info, _k=_key: q.get(_k)),
    )


# --- Consumer API -----------------------------------------------------------------

QuestionnaireStateEnum = graphene.Enum(
    "QuestionnaireState",
    [(state.value, state.value) for state in FormState],
    description="Whether the caller can answer now (ALREADY_RESPONDED only when signed in).",
)


class QuestionnaireForm(graphene.ObjectType):
    """A questionnaire as a consumer sees it: only the questions to show now."""

    link = graphene.String(required=True)
    merchant_name = graphene.String(required=True)
    campaign_name = graphene.String(required=True)
    description = graphene.String(required=True)
    points_per_response = BigInt(required=True)
    state = graphene.Field(QuestionnaireStateEnum, required=True)
    questions = graphene.List(
        graphene.NonNull(Question),
        required=True,
        description="The questions visible given the `answers` passed (conditions applied).",
    )
    prize_tiers = graphene.List(
        graphene.NonNull(PreviewPrizeTier),
        description="A prize questionnaire: the published tiers, top prize first (each "
        "rewarded response draws once; submit with a `nonce`); null for fixed points.",
    )
    prize_guarantee = graphene.String(
        description="With the first-scan guarantee: the tier a consumer's first draw wins "
        "at least; null otherwise."
    )


class SubmittedResponse(graphene.ObjectType):
    points = BigInt(required=True)
    submitted_at = graphene.DateTime(required=True)
    version = graphene.Int(required=True, description="The question version answered.")


# --- Merchant API -----------------------------------------------------------------


class ChoiceCount(graphene.ObjectType):
    id = graphene.String(required=True, description="Option id, or the scale value.")
    label = graphene.String(required=True)
    count = graphene.Int(required=True)
    percent = graphene.Float(required=True, description="Of the question's answers, 0-100.")


class QuestionResult(graphene.ObjectType):
    """Aggregates of one question over every response that answered it."""

    question_id = graphene.String(required=True)
    text = graphene.String(required=True)
    type = graphene.String(required=True)
    answered = graphene.Int(required=True)
    options = graphene.List(
        graphene.NonNull(ChoiceCount), description="Choice questions: every option."
    )
    distribution = graphene.List(
        graphene.NonNull(ChoiceCount), description="Rating and NPS: every scale value."
    )
    mean = graphene.Float()
    median = graphene.Float()
    min = graphene.Float()
    max = graphene.Float()
    nps = graphene.Float(description="NPS: % promoters (9-10) - % detractors (0-6).")


def _question_result(result: results.QuestionResult) -> QuestionResult:
    question = result.question

    def count(key: str, label: str) -> ChoiceCount:
        return ChoiceCount(
            id=key, label=label, count=result.counts.get(key, 0), percent=result.percent(key)
        )

    options = distribution = None
    if "options" in question:
        options = [count(o["id"], o["label"]) for o in question["options"]]
    scale = {"rating": range(1, 6), "nps": range(0, 11)}.get(question["type"])
    if scale is not None:
        distribution = [count(str(v), str(v)) for v in scale]
    return QuestionResult(
        question_id=question["id"],
        text=question["text"],
        type=question["type"],
        answered=result.answered,
        options=options,
        distribution=distribution,
        mean=result.mean,
        median=result.median,
        min=result.minimum,
        max=result.maximum,
        nps=result.nps,
    )


class DayCount(graphene.ObjectType):
    day = graphene.Date(required=True)
    responses = graphene.Int(required=True)


class Completion(graphene.ObjectType):
    opened = graphene.Int(required=True, description="Signed-in consumers who opened it.")
    submitted = graphene.Int(required=True)
    rate = graphene.Float(required=True, description="submitted / opened in %, 0 if none.")


class TextAnswerNode(MerchantNode, DjangoObjectType):
    """One answer to a text question (the response it belongs to)."""

    text = graphene.String(required=True)

    class Meta:
        name = "TextAnswer"
        model = Response
        interfaces = (graphene.relay.Node,)
        fields = ("id", "submitted_at")
        skip_registry = True

    # Two types show Response rows: this one only rows annotated with a text answer.
    @classmethod
    def is_type_of(cls, root: Any, info: graphene.ResolveInfo) -> bool:
        return isinstance(root, Response) and hasattr(root, "answer_text")

    @classmethod
    def get_node(cls, info: graphene.ResolveInfo, id: str) -> None:
        return None  # listed under its question only (`textAnswers`)

    @staticmethod
    def resolve_text(response: Response, info: graphene.ResolveInfo) -> str:
        return getattr(response, "answer_text", None) or ""


class QuestionnaireResponseNode(MerchantNode, DjangoObjectType):
    """A response. The consumer shows only as a masked phone number; empty once
    they withdrew their consent to share with the merchant (PIPL)."""

    masked_phone = graphene.String(required=True)
    version = graphene.Int(required=True, description="The question version answered.")
    answers = JSONString(required=True)
    points = BigInt(required=True)

    node_related = ("consumer", "version")

    class Meta:
        name = "QuestionnaireResponse"
        model = Response
        interfaces = (graphene.relay.Node,)
        fields = ("id", "submitted_at")
        skip_registry = True

    @classmethod
    def is_type_of(cls, root: Any, info: graphene.ResolveInfo) -> bool:
        return isinstance(root, Response) and not hasattr(root, "answer_text")

    @staticmethod
    def resolve_masked_phone(response: Response, info: graphene.ResolveInfo) -> str:
        # Empty once the consumer withdrew their consent to share with the merchant (PIPL).
        withheld = getattr(response, "identity_withheld", None)
        if withheld is None:  # a node fetched alone
            withheld = bool(withheld_from(connection.tenant.pk, [response.consumer_id]))
        return "" if withheld else response.consumer.masked_phone

    @staticmethod
    def resolve_version(response: Response, info: graphene.ResolveInfo) -> int:
        return response.version.number


class QuestionnaireNode(MerchantNode, DjangoObjectType):
    """A questionnaire campaign. Activate, pause and end it with the campaign mutations
    on `campaign.id`."""

    name = graphene.String(required=True)
    description = graphene.String(required=True)
    starts_at = graphene.DateTime()
    ends_at = graphene.DateTime()
    created_at = graphene.DateTime(required=True)
    status = graphene.Field(CampaignStatusEnum, required=True)
    campaign = graphene.Field(CampaignNode, required=True)
    points_per_response = BigInt(required=True)
    max_rewarded_responses = graphene.Int(required=True)
    rewarded_responses = graphene.Int(required=True)
    budget_exhausted = graphene.Boolean(required=True)
    version = graphene.Int(required=True, description="The current question version.")
    questions = graphene.List(graphene.NonNull(Question), required=True)
    link = graphene.String(required=True, description="Public link id (consumer API).")
    share_url = graphene.String(required=True, description="The phone page to share.")
    poster_url = graphene.String(
        required=True,
        description="A signed link to an A4 PDF poster with the QR code (15 minutes).",
    )
    results = graphene.List(graphene.NonNull(QuestionResult), required=True)
    responses_over_time = graphene.List(graphene.NonNull(DayCount), required=True)
    completion = graphene.Field(Completion, required=True)
    text_answers = DjangoConnectionField(
        TextAnswerNode,
        question_id=graphene.String(required=True),
        description="A text question's answers, newest first.",
    )
    responses = DjangoConnectionField(
        QuestionnaireResponseNode, description="Newest first, with their version."
    )

    node_related = ("campaign", "current_version")

    class Meta:
        name = "Questionnaire"
        model = Questionnaire
        interfaces = (graphene.relay.Node,)
        fields = ("id", "points_per_response", "max_rewarded_responses")
        skip_registry = True

    @staticmethod
    def resolve_name(q: Questionnaire, info: graphene.ResolveInfo) -> str:
        return q.campaign.name

    @staticmethod
    def resolve_description(q: Questionnaire, info: graphene.ResolveInfo) -> str:
        return q.campaign.description

    @staticmethod
    def resolve_starts_at(q: Questionnaire, info: graphene.ResolveInfo) -> Any:
        return q.campaign.starts_at

    @staticmethod
    def resolve_ends_at(q: Questionnaire, info: graphene.ResolveInfo) -> Any:
        return q.campaign.ends_at

    @staticmethod
    def resolve_created_at(q: Questionnaire, info: graphene.ResolveInfo) -> Any:
        return q.campaign.created_at

    @staticmethod
    def resolve_status(q: Questionnaire, info: graphene.ResolveInfo) -> str:
        return str(q.campaign.status)

    @staticmethod
    def resolve_campaign(q: Questionnaire, info: graphene.ResolveInfo) -> Campaign:
        return q.campaign

    @staticmethod
    def resolve_rewarded_responses(q: Questionnaire, info: graphene.ResolveInfo) -> int:
        counted = getattr(q, "rewarded", None)  # annotated when listed
        if counted is not None:
            return counted
        return Response.objects.filter(campaign_id=q.campaign_id).count()

    @staticmethod
    def resolve_budget_exhausted(q: Questionnaire, info: graphene.ResolveInfo) -> bool:
        return q.exhausted_at is not None

    @staticmethod
    def resolve_version(q: Questionnaire, info: graphene.ResolveInfo) -> int:
        return q.live_version().number

    @staticmethod
    def resolve_questions(q: Questionnaire, info: graphene.ResolveInfo) -> list[dict]:
        return q.live_version().questions

    @staticmethod
    def resolve_link(q: Questionnaire, info: graphene.ResolveInfo) -> str:
        return questionnaire_link(require_membership(info).merchant_id, q.campaign.link_key)

    @staticmethod
    def resolve_share_url(q: Questionnaire, info: graphene.ResolveInfo) -> str:
        link = questionnaire_link(require_membership(info).merchant_id, q.campaign.link_key)
        return questionnaire_url(link)

    @staticmethod
    def resolve_poster_url(q: Questionnaire, info: graphene.ResolveInfo) -> str:
        membership = require_membership(info)
        path = exports.poster_path(membership.merchant_id, q.campaign_id)
        return info.context.build_absolute_uri(path)

    @staticmethod
    def resolve_results(q: Questionnaire, info: graphene.ResolveInfo) -> list[QuestionResult]:
        return [_question_result(r) for r in results.results(q.campaign)]

    @staticmethod
    def resolve_responses_over_time(q: Questionnaire, info: graphene.ResolveInfo) -> list:
        return [DayCount(day=day, responses=n) for day, n in results.responses_per_day(q.campaign)]

    @staticmethod
    def resolve_completion(q: Questionnaire, info: graphene.ResolveInfo) -> Completion:
        opened, submitted, rate = results.completion(q.campaign)
        return Completion(opened=opened, submitted=submitted, rate=rate)

    @staticmethod
    def resolve_text_answers(
        q: Questionnaire, info: graphene.ResolveInfo, question_id: str, **kwargs: Any
    ) -> QuerySet:
        return (
            Response.objects.filter(campaign_id=q.campaign_id, answers__has_key=question_id)
            .annotate(answer_text=KeyTextTransform(question_id, "answers"))
            .only("id", "submitted_at")
            .order_by("-submitted_at", "-id")
        )

    @staticmethod
    def resolve_responses(q: Questionnaire, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return (
            Response.objects.filter(campaign_id=q.campaign_id)
            .select_related("consumer", "version")
            .annotate(identity_withheld=identity_withheld(connection.tenant.pk))
            .order_by("-submitted_at", "-id")
        )


def questionnaire_by_id(
    info: graphene.ResolveInfo, global_id: str, field: str = "id"
) -> Questionnaire:
    """The current merchant's questionnaire with this global ID, or ``NOT_FOUND`` on ``field``."""
    return node_or_not_found(info, global_id, QuestionnaireNode, field, _("No such questionnaire."))


QuestionnaireExportFormatEnum = graphene.Enum(
    "QuestionnaireExportFormat", [("CSV", "csv"), ("XLSX", "xlsx")]
)
