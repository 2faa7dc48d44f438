"""Questionnaire campaigns: build, fund, answer once, close when the cap is reached.

Funding: activation reserves ``cap x points`` from the budget, split over
``RESERVE_BUCKETS`` reserve accounts (bucket k funds a fixed share of the cap). A
reward takes ``points`` from one bucket with the ledger's conditional update, trying
the buckets in an order that starts at the consumer's own, so concurrent submitters
spread over 16 rows instead of queueing on one counter, and exactly ``cap`` rewards
can ever be paid. When every bucket is empty the campaign closes itself and later
submitters get ``BUDGET_EXHAUSTED``. A merchant also requests its responses as a file
(``request_export``, rendered by ``tasks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns import reserves
from campaigns.error_codes import CampaignErrorCode, QuestionnaireErrorCode
from campaigns.models import (
    Campaign,
    CampaignError,
    CampaignKind,
    CampaignStatus,
    Questionnaire,
    QuestionnaireOpen,
    QuestionnaireVersion,
    Response,
)
from campaigns.questionnaires import exports
from campaigns.questionnaires.questions import (
    validate_answers,
    validate_definition,
    visible_questions,
)
from campaigns.questionnaires.tasks import render_responses
from core import idempotency
from core.db import connection
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from points import ledger
from points.error_codes import LedgerErrorCode
from points.errors import LedgerError
from points.ledger import Posting
from points.models import Account, Transaction, TransactionKind
from tenants.models import Merchant
from webhooks import events, payloads
from webhooks.models import EventType

MAX_POINTS_PER_RESPONSE = 1_000_000
MAX_CAP = 10_000_000


def _check_funding(points: Any, cap: Any) -> None:
    if (
        isinstance(points, bool)
        or not isinstance(points, int)
        or not (1 <= points <= MAX_POINTS_PER_RESPONSE)
    ):
        raise CampaignError(
            LedgerErrorCode.INVALID_AMOUNT,
            _("Points per response must be 1 to 1,000,000."),
            "pointsPerResponse",
        )
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_CAP:
        raise CampaignError(
            CampaignErrorCode.INVALID_LIMIT,
            _("The cap must be 1 to 10,000,000 responses."),
            "maxRewardedResponses",
        )


def create_questionnaire_campaign(
    *,
    name: str,
    questions: Any,
    points_per_response: int,
    max_rewarded_responses: int,
    description: str = "",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    created_by: User | None = None,
) -> Campaign:
    Campaign.validate_details(name, starts_at, ends_at, {})
    _check_funding(points_per_response, max_rewarded_responses)
    definition = validate_definition(questions)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            kind=CampaignKind.QUESTIONNAIRE,
            name=name.strip(),
            description=description,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=created_by,
        )
        questionnaire = Questionnaire.objects.create(
            campaign=campaign,
            points_per_response=points_per_response,
            max_rewarded_responses=max_rewarded_responses,
        )
        version = QuestionnaireVersion.objects.create(
            questionnaire=questionnaire, number=1, questions=definition
        )
        questionnaire.current_version = version
        questionnaire.save(update_fields=["current_version"])
    return campaign


def edit_questions(campaign: Campaign, questions: Any) -> QuestionnaireVersion:
    """Replace the questions. Once anyone has answered, this makes a new version, and
    every response keeps the version it answered."""
    definition = validate_definition(questions)
    if campaign.status == CampaignStatus.ENDED:
        raise CampaignError(
            CampaignErrorCode.CAMPAIGN_ENDED, _("An ended campaign cannot be changed.")
        )
    with transaction.atomic():
        questionnaire = Questionnaire.objects.select_for_update().get(campaign=campaign)
        current = questionnaire.current_version
        if current is not None and not current.responses.exists():
            current.questions = definition
            current.save(update_fields=["questions"])
            return current
        version = QuestionnaireVersion.objects.create(
            questionnaire=questionnaire,
            number=(current.number + 1) if current else 1,
            questions=definition,
        )
        questionnaire.current_version = version
        questionnaire.save(update_fields=["current_version"])
    return version


def reserve(merchant: Merchant, campaign: Campaign) -> None:
    """Reserve cap x points on first activation (INSUFFICIENT_BUDGET otherwise)."""
    questionnaire = Questionnaire.objects.select_for_update().get(campaign=campaign)
    if questionnaire.reserved:
        return
    reserves.reserve(
        merchant,
        questionnaire.reserve_ref,
        questionnaire.max_rewarded_responses,
        questionnaire.points_per_response,
        idempotency_key=f"survey-reserve:{connection.schema_name}:{questionnaire.pk}",
        memo=_("Rewards for %(campaign)s") % {"campaign": campaign.name},
        metadata={"campaign": campaign.pk},
    )
    questionnaire.reserved = True
    questionnaire.save(update_fields=["reserved"])


def release(merchant: Merchant, campaign: Campaign) -> int:
    """Return what is left of the reserve (the campaign ended)."""
    questionnaire = Questionnaire.objects.select_for_update().get(campaign=campaign)
    if not questionnaire.reserved:
        return 0
    released = reserves.release(
        merchant,
        questionnaire.reserve_ref,
        questionnaire.max_rewarded_responses,
        idempotency_key=f"survey-release:{connection.schema_name}:{questionnaire.pk}",
        memo=_("Campaign ended"),
        metadata={"campaign": campaign.pk},
    )
    questionnaire.released_points = released
    questionnaire.save(update_fields=["released_points"])
    return released


# --- Answering --------------------------------------------------------------------


def _questionnaire(campaign_id: int) -> tuple[Campaign, Questionnaire]:
    campaign = Campaign.objects.filter(pk=campaign_id, kind=CampaignKind.QUESTIONNAIRE).first()
    if campaign is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, _("No such questionnaire."), "campaignId")
    questionnaire = Questionnaire.objects.select_related("current_version").get(campaign=campaign)
    return campaign, questionnaire


def _ensure_open(campaign: Campaign, questionnaire: Questionnaire) -> None:
    if questionnaire.exhausted_at is not None:
        raise CampaignError(
            QuestionnaireErrorCode.BUDGET_EXHAUSTED,
            _("All rewards of this questionnaire have been given out."),
        )
    campaign.ensure_claimable()


def open_questionnaire(
    consumer: User, campaign_id: int, answers: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The questions to show now (given the answers so far); counts the consumer as opened."""
    campaign, questionnaire = _questionnaire(campaign_id)
    _ensure_open(campaign, questionnaire)
    QuestionnaireOpen.objects.get_or_create(campaign=campaign, consumer=consumer)
    return visible_questions(questionnaire.live_version().questions, answers or {})


class FormState(StrEnum):
    """Whether a consumer can answer a questionnaire now (ALREADY_RESPONDED: signed in)."""

    OPEN = "OPEN"
    NOT_ACTIVE = "NOT_ACTIVE"
    ENDED = "ENDED"
    BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"
    ALREADY_RESPONDED = "ALREADY_RESPONDED"


@dataclass(frozen=True)
class Form:
    """A questionnaire as a consumer sees it: only the questions to show now."""

    campaign: Campaign
    questionnaire: Questionnaire
    state: FormState
    questions: list[dict[str, Any]]


def consumer_form(campaign_id: int, consumer: User | None, answers: dict[str, Any]) -> Form | None:
    """What the consumer's page shows, or None when there is no such questionnaire.

    Unlike ``open_questionnaire`` it refuses nothing: anyone may look (``consumer`` is
    None when no one is signed in), and ``state`` says whether they can answer. A
    signed-in consumer who can counts as having opened it (the completion rate).
    """
    campaign = (
        Campaign.objects.filter(pk=campaign_id, kind=CampaignKind.QUESTIONNAIRE)
        .select_related("questionnaire__current_version")
        .first()
    )
    if campaign is None:
        return None
    questionnaire = campaign.questionnaire
    state = _form_state(campaign, questionnaire, consumer)
    if consumer is not None and state == FormState.OPEN:
        QuestionnaireOpen.objects.get_or_create(campaign=campaign, consumer=consumer)
    questions = visible_questions(questionnaire.live_version().questions, answers)
    return Form(campaign, questionnaire, state, questions)


def _form_state(
    campaign: Campaign, questionnaire: Questionnaire, consumer: User | None
) -> FormState:
    if (
        consumer is not None
        and Response.objects.filter(campaign=campaign, consumer=consumer).exists()
    ):
        return FormState.ALREADY_RESPONDED
    if questionnaire.exhausted_at is not None:
        return FormState.BUDGET_EXHAUSTED
    try:
        campaign.ensure_claimable()
    except CampaignError as exc:
        if exc.code == CampaignErrorCode.CAMPAIGN_ENDED:
            return FormState.ENDED
        return FormState.NOT_ACTIVE
    return FormState.OPEN


@dataclass(frozen=True)
class Submission:
    response: Response
    balance: int
    replayed: bool


def _existing(campaign: Campaign, consumer: User, idempotency_key: str) -> Submission:
    response = Response.objects.filter(campaign=campaign, consumer=consumer).first()
    if response is None or response.idempotency_key != idempotency_key:
        raise CampaignError(
            QuestionnaireErrorCode.ALREADY_RESPONDED,
            _("You have already answered this questionnaire."),
        )
    return Submission(response, ledger.balance_of(ledger.wallet(consumer.pk)), replayed=True)


def submit(
    merchant: Merchant, consumer: User, campaign_id: int, answers: Any, idempotency_key: str
) -> Submission:
    idempotency.check_key(idempotency_key)
    campaign, questionnaire = _questionnaire(campaign_id)
    previous = Response.objects.filter(campaign=campaign, consumer=consumer).first()
    if previous is not None:
        if previous.idempotency_key == idempotency_key:
            return Submission(previous, ledger.balance_of(ledger.wallet(consumer.pk)), True)
        raise CampaignError(
            QuestionnaireErrorCode.ALREADY_RESPONDED,
            _("You have already answered this questionnaire."),
        )
    merchant.ensure_can_award()
    _ensure_open(campaign, questionnaire)
    version = questionnaire.live_version()
    cleaned = validate_answers(version.questions, answers)
    points = questionnaire.points_per_response
    wallet = ledger.wallet(consumer.pk)
    order = sorted(reserves.bucket_sizes(questionnaire.max_rewarded_responses))
    start = consumer.pk % len(order)
    order = order[start:] + order[:start]
    try:
        with transaction.atomic():
            txn = _reward(merchant, questionnaire, campaign, consumer, wallet, order, points)
            if txn is not None:
                response = Response.objects.create(
                    campaign=campaign,
                    version=version,
                    consumer=consumer,
                    answers=cleaned,
                    points=points,
                    transaction=txn,
                    idempotency_key=idempotency_key,
                )
                events.record(
                    merchant.pk,
                    EventType.QUESTIONNAIRE_ANSWERED,
                    lambda: payloads.questionnaire_answered(
                        merchant.pk, response, campaign, questionnaire, consumer
                    ),
                )
                balance = ledger.balance_of(wallet)
    except IntegrityError:
        # The same consumer submitted twice at once: the first response stands.
        return _existing(campaign, consumer, idempotency_key)
    if txn is None:
        _close_exhausted(campaign, questionnaire)
        raise CampaignError(
            QuestionnaireErrorCode.BUDGET_EXHAUSTED,
            _("All rewards of this questionnaire have been given out."),
        )
    if getattr(txn, "replayed", False):
        return _existing(campaign, consumer, idempotency_key)
    _close_if_empty(merchant, campaign, questionnaire)
    return Submission(response, balance, replayed=False)


def _reward(
    merchant: Merchant,
    questionnaire: Questionnaire,
    campaign: Campaign,
    consumer: User,
    wallet: Account,
    order: list[int],
    points: int,
) -> Transaction | None:
    key = f"survey:{connection.schema_name}:{campaign.pk}:{consumer.pk}"
    for bucket in order:
        account = ledger.campaign_reserve(merchant.pk, questionnaire.reserve_ref(bucket))
        try:
            return ledger.post(
                TransactionKind.AWARD,
                key,
                [Posting(account, -points), Posting(wallet, points)],
                merchant_id=merchant.pk,
                consumer_id=consumer.pk,
                memo=campaign.name[:200],
                metadata={"campaign": campaign.pk},
                lot_expires_at=timezone.now() + timedelta(days=merchant.points_expiry_days),
            )
        except LedgerError as exc:
            if exc.code == CoreErrorCode.IDEMPOTENCY_CONFLICT:
                # Our own concurrent submission was paid from another bucket.
                raise IntegrityError("duplicate submission") from exc
            if exc.code != LedgerErrorCode.INSUFFICIENT_BUDGET:
                raise
    return None


def _close_exhausted(campaign: Campaign, questionnaire: Questionnaire) -> None:
    now = timezone.now()
    Questionnaire.objects.filter(pk=questionnaire.pk, exhausted_at__isnull=True).update(
        exhausted_at=now
    )
    Campaign.objects.filter(pk=campaign.pk).exclude(status=CampaignStatus.ENDED).update(
        status=CampaignStatus.ENDED, updated_at=now
    )


def _close_if_empty(merchant: Merchant, campaign: Campaign, questionnaire: Questionnaire) -> None:
    if not reserves.left(merchant, questionnaire.reserve_ref, questionnaire.max_rewarded_responses):
        _close_exhausted(campaign, questionnaire)


# --- Exports ----------------------------------------------------------------------


def request_export(merchant_id: int, campaign: Campaign, fmt: str) -> str:
    """Queue the rendering of every response (``exports``); returns the download path
    (signed, 15 minutes), which answers 202 until the file is written."""
    if fmt not in exports.FORMATS:
        raise DomainError(CampaignErrorCode.INVALID_EXPORT_FORMAT, "CSV or XLSX.", "format")
    name = exports.file_name(campaign, fmt)
    render_responses.apply_async(
        (campaign.pk, fmt, name), headers={"_schema_name": connection.schema_name}
    )
    return exports.LINK.path(merchant_id, campaign.pk, name)
