"""GraphQL for questionnaire campaigns: answering (consumer API) and building, results
and responses (merchant API).

A questionnaire is named publicly by its *link*, ``<merchant id in base32>-<campaign
id>`` (``/q/<link>``): the merchant comes from the link by primary key, like a scan
code's, so no schema is searched. The consumer resolvers switch the connection to
that merchant's schema for the call and switch back afterwards.

Merchant side: a questionnaire is a campaign of kind questionnaire, so activation,
pause and end are the campaign mutations (``activateCampaign`` etc. with the
questionnaire's ``campaign { id }``): operators build, activate and pause, admins end.
"""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import Count, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext as _
from graphene_django import DjangoConnectionField, DjangoObjectType

from api.mutations import DomainMutation
from api.permissions import require_consumer, require_membership
from campaigns.error_codes import CampaignErrorCode, QuestionnaireErrorCode
from campaigns.models import (
    Campaign,
    CampaignError,
    CampaignKind,
    Questionnaire,
    QuestionnaireOpen,
    Response,
)
from campaigns.questionnaires import exports as questionnaire_exports
from campaigns.questionnaires import results
from campaigns.questionnaires import services as questionnaires
from campaigns.questionnaires.links import (
    in_merchant_schema,
    link_not_found,
    questionnaire_link,
    questionnaire_url,
)
from campaigns.questionnaires.questions import visible_questions
from campaigns.schema import CampaignNode, CampaignStatusEnum, MerchantNode, _aware, _by_id
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from tenants.models import Role

# --- Shared types -------------------------------------------------------------------


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


for _name, _key in [
    ("id", "id"),
    ("type", "type"),
    ("text", "text"),
    ("help", "help"),
    ("required", "required"),
    ("options", "options"),
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


def _resolve_show_if(question: dict[str, Any], info: graphene.ResolveInfo) -> Any:
    condition = question.get("showIf")
    return ShowIf(**condition) if condition else None


def _resolve_options(question: dict[str, Any], info: graphene.ResolveInfo) -> Any:
    options = question.get("options")
    return [QuestionOption(**o) for o in options] if options is not None else None


Question.resolve_show_if = staticmethod(_resolve_show_if)  # type: ignore[attr-defined]
Question.resolve_options = staticmethod(_resolve_options)  # type: ignore[attr-defined]


# --- Consumer API -------------------------------------------------------------------

QuestionnaireStateEnum = graphene.Enum(
    "QuestionnaireState",
    [
        ("OPEN", "OPEN"),
        ("NOT_ACTIVE", "NOT_ACTIVE"),
        ("ENDED", "ENDED"),
        ("BUDGET_EXHAUSTED", "BUDGET_EXHAUSTED"),
        ("ALREADY_RESPONDED", "ALREADY_RESPONDED"),
    ],
    description="Whether the caller can answer now (ALREADY_RESPONDED only when signed in).",
)


class QuestionnaireForm(graphene.ObjectType):
    """A questionnaire as a consumer sees it: only the questions to show now."""

    link = graphene.String(required=True)
    merchant_name = graphene.String(required=True)
    campaign_name = graphene.String(required=True)
    description = graphene.String(required=True)
    points_per_response = graphene.BigInt(required=True)
    state = graphene.Field(QuestionnaireStateEnum, required=True)
    questions = graphene.List(
        graphene.NonNull(Question),
        required=True,
        description="The questions visible given the `answers` passed (conditions applied).",
    )


def _state(campaign: Campaign, exhausted: bool, consumer: Any) -> str:
    if consumer is not None and Response.objects.filter(campaign=campaign, consumer=consumer):
        return "ALREADY_RESPONDED"
    if exhausted:
        return "BUDGET_EXHAUSTED"
    try:
        campaign.ensure_claimable()
    except CampaignError as exc:
        return "ENDED" if exc.code == CampaignErrorCode.CAMPAIGN_ENDED else "NOT_ACTIVE"
    return "OPEN"


def _consumer_or_none(info: graphene.ResolveInfo) -> Any:
    """The signed-in consumer, or None (anonymous, or staff looking at the page)."""
    user = info.context.user
    return user if user.is_authenticated and user.phone else None


class SubmittedResponse(graphene.ObjectType):
    points = graphene.BigInt(required=True)
    submitted_at = graphene.DateTime(required=True)
    version = graphene.Int(required=True, description="The question version answered.")


class SubmitResponse(DomainMutation):
    """Answer a questionnaire and earn its points, once per consumer.

    Invalid answers come back as one error per question (`field` = the question id:
    REQUIRED, INVALID_OPTION, TOO_MANY_SELECTIONS, OUT_OF_RANGE, TEXT_TOO_LONG,
    HIDDEN_QUESTION_ANSWERED, …) and nothing is stored. A retry with the same
    `idempotencyKey` answers `replayed: true`; another submission ALREADY_RESPONDED;
    after the cap BUDGET_EXHAUSTED.
    """

    class Arguments:
        link = graphene.String(required=True)
        answers = graphene.JSONString(required=True, description="{question id: answer}.")
        idempotency_key = graphene.String(required=True)

    response = graphene.Field(SubmittedResponse)
    balance = graphene.BigInt(description="The wallet balance after the reward.")
    replayed = graphene.Boolean()

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, link: str, answers: Any, idempotency_key: str
    ) -> SubmitResponse:
        consumer = require_consumer(info)
        with in_merchant_schema(link) as (merchant, campaign_id):
            try:
                result = questionnaires.submit(
                    merchant, consumer, campaign_id, answers, idempotency_key
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
        )


class ConsumerQueries(graphene.ObjectType):
    questionnaire = graphene.Field(
        QuestionnaireForm,
        link=graphene.String(required=True, description="From /q/<link>."),
        answers=graphene.JSONString(description="Answers so far, to apply the conditions."),
        description=(
            "A questionnaire by its link. Public; signed in, it counts as opened (completion "
            "rate) and `state` tells whether the consumer has already answered. NOT_FOUND for "
            "an unknown link."
        ),
    )

    @staticmethod
    def resolve_questionnaire(
        root: Any, info: graphene.ResolveInfo, link: str, answers: Any = None
    ) -> QuestionnaireForm:
        consumer = _consumer_or_none(info)
        if answers is not None and not isinstance(answers, dict):
            raise DomainError(
                QuestionnaireErrorCode.INVALID_ANSWER, _("Answers must be an object."), "answers"
            )
        with in_merchant_schema(link) as (merchant, campaign_id):
            campaign = (
                Campaign.objects.filter(pk=campaign_id, kind=CampaignKind.QUESTIONNAIRE)
                .select_related("questionnaire__current_version")
                .first()
            )
            if campaign is None:
                raise link_not_found()
            questionnaire = campaign.questionnaire
            state = _state(campaign, questionnaire.exhausted_at is not None, consumer)
            if consumer is not None and state == "OPEN":
                QuestionnaireOpen.objects.get_or_create(campaign=campaign, consumer=consumer)
            questions = visible_questions(questionnaire.current_version.questions, answers or {})
            return QuestionnaireForm(
                link=questionnaire_link(merchant.pk, campaign.pk),
                merchant_name=merchant.name,
                campaign_name=campaign.name,
                description=campaign.description,
                points_per_response=questionnaire.points_per_response,
                state=state,
                questions=questions,
            )


class ConsumerMutations(graphene.ObjectType):
    submit_response = SubmitResponse.Field()


# --- Merchant API -------------------------------------------------------------------


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
    """A response. The consumer shows only as a masked phone number."""

    masked_phone = graphene.String(required=True)
    version = graphene.Int(required=True, description="The question version answered.")
    answers = graphene.JSONString(required=True)
    points = graphene.BigInt(required=True)

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
        return response.consumer.masked_phone

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
    points_per_response = graphene.BigInt(required=True)
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
        return q.current_version.number

    @staticmethod
    def resolve_questions(q: Questionnaire, info: graphene.ResolveInfo) -> list[dict]:
        return q.current_version.questions

    @staticmethod
    def resolve_link(q: Questionnaire, info: graphene.ResolveInfo) -> str:
        return questionnaire_link(require_membership(info).merchant_id, q.campaign_id)

    @staticmethod
    def resolve_share_url(q: Questionnaire, info: graphene.ResolveInfo) -> str:
        link = questionnaire_link(require_membership(info).merchant_id, q.campaign_id)
        return questionnaire_url(link)

    @staticmethod
    def resolve_poster_url(q: Questionnaire, info: graphene.ResolveInfo) -> str:
        membership = require_membership(info)
        path = questionnaire_exports.poster_path(membership.merchant_id, q.campaign_id)
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
            .order_by("-submitted_at", "-id")
        )


def _reload(campaign_id: int) -> Questionnaire:
    return Questionnaire.objects.select_related("campaign", "current_version").get(
        campaign_id=campaign_id
    )


def questionnaire_by_id(
    info: graphene.ResolveInfo, global_id: str, field: str = "id"
) -> Questionnaire:
    return _by_id(info, global_id, QuestionnaireNode, field, _("No such questionnaire."))


class CreateQuestionnaire(DomainMutation):
    """Create a questionnaire campaign in draft (operator). Activating it (the campaign's
    `activateCampaign`) reserves `maxRewardedResponses x pointsPerResponse`."""

    class Arguments:
        name = graphene.String(required=True)
        description = graphene.String(default_value="")
        points_per_response = graphene.Int(required=True)
        max_rewarded_responses = graphene.Int(required=True)
        questions = graphene.JSONString(required=True, description="A list of questions.")
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
            starts_at=_aware(kwargs.get("starts_at")),
            ends_at=_aware(kwargs.get("ends_at")),
            created_by=membership.acting_user,
        )
        return cls(questionnaire=_reload(campaign.pk))


class EditQuestions(DomainMutation):
    """Replace the questions (operator). Once someone has answered, this makes a new
    version; earlier responses keep theirs."""

    class Arguments:
        id = graphene.ID(required=True)
        questions = graphene.JSONString(required=True)

    questionnaire = graphene.Field(QuestionnaireNode)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, id: str, questions: Any
    ) -> EditQuestions:
        require_membership(info, Role.OPERATOR)
        questionnaire = questionnaire_by_id(info, id)
        questionnaires.edit_questions(questionnaire.campaign, questions)
        return cls(questionnaire=_reload(questionnaire.campaign_id))


QuestionnaireExportFormatEnum = graphene.Enum(
    "QuestionnaireExportFormat", [("CSV", "csv"), ("XLSX", "xlsx")]
)


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


class MerchantQueries(graphene.ObjectType):
    questionnaires = DjangoConnectionField(
        QuestionnaireNode,
        status=CampaignStatusEnum(),
        description="The merchant's questionnaires, newest first. One by ID: `node(id:)`.",
    )

    @staticmethod
    def resolve_questionnaires(
        root: Any, info: graphene.ResolveInfo, status: Any = None, **kwargs: Any
    ) -> QuerySet[Questionnaire]:
        require_membership(info)
        found = Questionnaire.objects.select_related("campaign", "current_version").annotate(
            rewarded=Count("campaign__responses")
        )
        if status is not None:
            found = found.filter(campaign__status=getattr(status, "value", status))
        return found.order_by("-campaign__created_at", "-id")


class MerchantMutations(graphene.ObjectType):
    create_questionnaire = CreateQuestionnaire.Field()
    edit_questions = EditQuestions.Field()
    request_questionnaire_export = RequestQuestionnaireExport.Field()
