"""Questionnaire campaigns: build, fund, answer once, close when the cap is reached.

Funding: activation reserves ``cap x points`` from the budget, split over
``RESERVE_BUCKETS`` reserve accounts (bucket k funds a fixed share of the cap). A
reward takes ``points`` from one bucket with the ledger's conditional update, trying
the buckets in an order that starts at the consumer's own, so concurrent submitters
spread over 16 rows instead of queueing on one counter, and exactly ``cap`` rewards
can ever be paid. When every bucket is empty the campaign closes itself and later
submitters get ``BUDGET_EXHAUSTED``. A submit is one call of the SQL function
``campaigns_submit_response`` (sql/, decision 0150) when the consumer's own bucket can
pay; Python words its answer, and takes the slow way near the cap. A merchant also
requests its responses as a file (``request_export``, rendered by ``tasks``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import JSONField, Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from accounts import tokens
from accounts.models import User
from accounts.tokens import Bearer
from campaigns import reserves
from campaigns.error_codes import CampaignErrorCode, PrizeErrorCode, QuestionnaireErrorCode
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
from campaigns.prizes import claims as prize_claims
from campaigns.prizes import coupons as prize_coupons
from campaigns.prizes import services as prize_services
from campaigns.questionnaires import exports
from campaigns.questionnaires.questions import (
    AnswersInvalid,
    validate_answers,
    validate_definition,
    visible_questions,
)
from campaigns.questionnaires.tasks import render_responses
from core import idempotency
from core.db import connection, rows, violated_constraint
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from points import ledger
from points.error_codes import LedgerErrorCode
from points.errors import LedgerError
from points.ledger import Posting
from points.models import Account, AccountKind, Transaction, TransactionKind
from privacy import consent as merchant_consent
from privacy.models import MerchantConsent
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
    """Reserve cap x points on first activation (INSUFFICIENT_BUDGET otherwise).

    With a prize table (decision 0283): Σ over tiers of min(tier cap, cap) x points, in
    one account (``Questionnaire.prize_reserve_ref``), and the coupon tiers' coupons set
    aside from their pools, as a batch of ``cap`` codes would."""
    questionnaire = Questionnaire.objects.select_for_update().get(campaign=campaign)
    if questionnaire.reserved:
        return  # activated before: reserved then, and its coupons set aside
    cap = questionnaire.max_rewarded_responses
    prize = prize_services.batch_terms(campaign, cap)
    reserves.reserve_once(
        merchant,
        campaign,
        questionnaire,
        cap=1 if prize else cap,
        points=prize.reserve if prize else questionnaire.points_per_response,
        key_prefix="survey",
        ref_for=questionnaire.prize_reserve_ref if prize else None,
    )
    if prize:
        prize_coupons.set_aside(campaign.prize_table, cap, "maxRewardedResponses")


def release(merchant: Merchant, campaign: Campaign) -> int:
    """Return what is left of the reserve (the campaign ended)."""
    questionnaire = Questionnaire.objects.select_for_update().get(campaign=campaign)
    prize = prize_services.table_of(campaign) is not None
    return reserves.release_once(
        merchant,
        campaign,
        questionnaire,
        cap=1 if prize else questionnaire.max_rewarded_responses,
        key_prefix="survey",
        ref_for=questionnaire.prize_reserve_ref if prize else None,
    )


# --- Answering --------------------------------------------------------------------


def _questionnaire(campaign_id: int) -> tuple[Campaign, Questionnaire]:
    campaign = Campaign.objects.filter(pk=campaign_id, kind=CampaignKind.QUESTIONNAIRE).first()
    if campaign is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, _("No such questionnaire."), "campaignId")
    questionnaire = Questionnaire.objects.select_related("current_version").get(campaign=campaign)
    return campaign, questionnaire


def _hold_open(campaign: Campaign, questionnaire: Questionnaire) -> None:
    """In the submit's transaction, before its bucket: the campaign's and questionnaire's
    rows held (``_HOLD_CAMPAIGN``), still open as they are now."""
    row = rows.fetch_one(_HOLD_CAMPAIGN, [campaign.pk])
    assert row is not None  # a questionnaire's campaign is never deleted
    campaign.status, campaign.starts_at, campaign.ends_at, questionnaire.exhausted_at = row
    _ensure_open(campaign, questionnaire)


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
    # With a prize table: the odds the page shows before the submit (decision 0283).
    prize: prize_services.PublishedTerms | None = None


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
    return Form(
        campaign, questionnaire, state, questions, prize_services.published_terms(campaign.pk)
    )


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
    # A prize questionnaire's draw (decision 0283): the tier won and its log entry.
    prize: prize_claims.Prize | None = None


def _existing(
    campaign_id: int, consumer: User, idempotency_key: str, with_prize: bool = False
) -> Submission:
    response = (
        Response.objects.select_related("campaign", "version")
        .filter(campaign_id=campaign_id, consumer=consumer)
        .first()
    )
    if response is None or response.idempotency_key != idempotency_key:
        raise CampaignError(
            QuestionnaireErrorCode.ALREADY_RESPONDED,
            _("You have already answered this questionnaire."),
        )
    balance = ledger.balance_of(ledger.wallet(consumer.pk))
    # A prize questionnaire's replay reads its draw back (the fixed-points one never looks).
    prize = prize_claims.drawn_for(_draw_ref(campaign_id, consumer.pk)) if with_prize else None
    return Submission(response, balance, replayed=True, prize=prize)


def _draw_ref(campaign_id: int, consumer_id: int) -> str:
    """What a response's draw is kept beside in the log (campaigns_submit_prize's p_code)."""
    return f"q:{campaign_id}:{consumer_id}"


def _refuse_emptied(exc: IntegrityError) -> None:
    """A prize questionnaire's reserve found empty by its draw: the campaign ended (and
    released it) while the submit waited for the draw log's head; nothing was written."""
    if violated_constraint(exc) == ledger.BALANCE_CONSTRAINT:
        raise _exhausted() from exc


def _check_nonce(nonce: str) -> None:
    if not prize_claims.is_nonce(nonce):
        raise CampaignError(
            PrizeErrorCode.INVALID_DRAW_NONCE,
            _("This questionnaire is a prize draw: reload the page and answer again."),
            "nonce",
        )


# A submit's statements, written once (core.db.rows) as the scan claim's are: building
# them with the ORM cost more CPU than PostgreSQL spent running them. One read brings
# the campaign, its questionnaire and live version, the consumer's earlier response and
# wallet (an account's id and owner never change, so reading it outside the transaction
# is safe); in the transaction, one statement picks and locks the bucket that pays.
_CAMPAIGN = rows.columns(Campaign)
_QUESTIONNAIRE = rows.columns(Questionnaire)
_VERSION = rows.columns(QuestionnaireVersion)
_RESPONSE = rows.columns(Response)
_ACCOUNT = rows.columns(Account)
_READ_FOR_SUBMIT = (
    f"SELECT {_CAMPAIGN.select('c')}, {_QUESTIONNAIRE.select('q')}, {_VERSION.select('v')},"
    f" {_RESPONSE.select('r')}, {_ACCOUNT.select('w')}"
    f" FROM {rows.table(Campaign)} c"
    f" JOIN {rows.table(Questionnaire)} q ON q.campaign_id = c.id"
    # Every committed questionnaire has its version (``live_version``).
    f" JOIN {rows.table(QuestionnaireVersion)} v ON v.id = q.current_version_id"
    f" LEFT JOIN {rows.table(Response)} r ON r.campaign_id = c.id AND r.consumer_id = %s"
    f" LEFT JOIN {rows.public_table(Account)} w ON w.kind = %s AND w.merchant_id IS NULL"
    " AND w.consumer_id = %s AND w.ref = ''"
    " WHERE c.id = %s AND c.kind = %s"
)
_SPANS = [len(_CAMPAIGN), len(_QUESTIONNAIRE), len(_VERSION), len(_RESPONSE), len(_ACCOUNT)]
# The consumer's own bucket when it can still pay ``points``, locked until the commit:
# the ledger's conditional debit of it cannot then be refused, so the posting needs no
# savepoint (every refusal after this ends the transaction). Almost every submit pays
# from its own bucket; the few that find it empty (near the cap) go the slow way.
_LOCK_BUCKET = (
    f"SELECT {_ACCOUNT.select('a')} FROM {rows.table(Account)} a"
    " WHERE a.kind = %s AND a.merchant_id = %s AND a.consumer_id IS NULL AND a.ref = %s"
    " AND a.balance >= %s FOR UPDATE"
)
_INSERT_RESPONSE = rows.Insert(Response)
# The lock order of a campaign's rows (decision 0318): the campaign's row and the
# questionnaire's, in key share (the lock the response's foreign key takes anyway), before
# any bucket, so that a submit and the campaign's end take turns here; read again, as an
# end in progress leaves them.
_HOLD_CAMPAIGN = (
    f"SELECT c.status, c.starts_at, c.ends_at, q.exhausted_at FROM {rows.table(Campaign)} c"
    f" JOIN {rows.table(Questionnaire)} q ON q.campaign_id = c.id"
    " WHERE c.id = %s FOR KEY SHARE OF c, q"
)


@dataclass(frozen=True)
class _Read:
    campaign: Campaign
    questionnaire: Questionnaire
    version: QuestionnaireVersion
    previous: Response | None
    wallet: Account | None


def _json(model: type[Model], name: str, value: Any) -> Any:
    field = model._meta.get_field(name)
    assert isinstance(field, JSONField), field
    return field.from_db_value(value, field.get_col(model._meta.db_table), connection)


def _read_for_submit(campaign_id: int, consumer_id: int) -> _Read:
    row = rows.fetch_one(
        _READ_FOR_SUBMIT,
        [
            consumer_id,
            AccountKind.CONSUMER_WALLET,
            consumer_id,
            campaign_id,
            CampaignKind.QUESTIONNAIRE,
        ],
    )
    if row is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, _("No such questionnaire."), "campaignId")
    parts = []
    at = 0
    for span in _SPANS:
        parts.append(row[at : at + span])
        at += span
    campaign = _CAMPAIGN.build(parts[0])
    questionnaire = _QUESTIONNAIRE.build(parts[1])
    version = _VERSION.build(parts[2])
    # Django's backend reads jsonb as text and leaves the decoding to the field.
    version.questions = _json(QuestionnaireVersion, "questions", version.questions)
    questionnaire.campaign = campaign
    questionnaire.current_version = version
    previous = None
    if parts[3][0] is not None:
        previous = _RESPONSE.build(parts[3])
        previous.answers = _json(Response, "answers", previous.answers)
        if previous.version_id == version.pk:
            previous.version = version
    wallet = _ACCOUNT.build(parts[4]) if parts[4][0] is not None else None
    return _Read(campaign, questionnaire, version, previous, wallet)


class _OwnBucketEmpty(Exception):
    """Ends the fast path's transaction, and with it any lock it took, before the slow one."""


class Outcome(StrEnum):
    """What campaigns_submit_response answers (its first column)."""

    SUBMITTED = "submitted"
    UNKNOWN = "unknown"
    RESPONDED = "responded"
    MERCHANT = "merchant"
    EXHAUSTED = "exhausted"
    CAMPAIGN = "campaign"
    VERSION = "version"
    SLOW = "slow"
    EXISTING = "existing"
    # campaigns_submit_prize only: the questionnaire pays fixed points.
    POINTS = "points"
    CONSENT = "consent"  # no live consent to share with the merchant: nothing written


# A submit's database work is one statement: sql/campaigns_submit_response.sql
# (installed by migrate, core/db/functions.py) says what it does and in which order.
SUBMIT_SQL = (
    "SELECT * FROM public.campaigns_submit_response(%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s)"
)
# A prize questionnaire's submit, with its draw (sql/campaigns_submit_prize.sql): the same
# arguments but the page's nonce for the last; the same first columns, then the draw's.
SUBMIT_PRIZE_SQL = (
    "SELECT * FROM public.campaigns_submit_prize(%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s)"
)
SUBMIT_COLUMNS = 14
_SUBMIT_CAMPAIGN = rows.columns(Campaign, only={"id", "name", "status", "starts_at", "ends_at"})
_SUBMIT_QUESTIONNAIRE = rows.columns(
    Questionnaire, only={"id", "campaign_id", "points_per_response", "max_rewarded_responses"}
)
_SUBMIT_VERSION = rows.columns(
    QuestionnaireVersion, only={"id", "questionnaire_id", "number", "questions"}
)
# The questions of the live version of each questionnaire this process has seen
# answered, by (merchant, campaign): a version with a response never changes
# (``edit_questions`` makes a new one once anyone has answered), so the answers are
# checked against it without a read. The function answers 'version' with the live
# questions when the live version is another one.
_ANSWERED: dict[tuple[int, int], tuple[int, list[dict[str, Any]]]] = {}
_MAX_ANSWERED = 1024


class _Slow(Exception):
    """The consumer's own bucket cannot pay: the submit goes the slow way (0146)."""


@contextmanager
def _merchant_schema(merchant_id: int) -> Iterator[Merchant]:
    merchant = Merchant.find(merchant_id)
    if merchant is None:
        raise _not_found()
    with tenant_context(merchant):
        yield merchant


def _not_found() -> DomainError:
    return DomainError(CoreErrorCode.NOT_FOUND, _("No such questionnaire."), "campaignId")


def _values(columns: rows.Columns[Any], **values: Any) -> list[Any]:
    return [values[name] for name in columns.attnames]


def submit(
    merchant: Merchant, consumer: User, campaign_id: int, answers: Any, idempotency_key: str
) -> Submission:
    """``submit_to`` for a caller that has the merchant row."""
    return submit_to(merchant.pk, consumer, campaign_id, answers, idempotency_key)


def submit_to(
    merchant_id: int,
    consumer: User,
    campaign_id: int,
    answers: Any,
    idempotency_key: str,
    share_with_merchant: bool = False,
    ip: str | None = None,
    nonce: str | None = None,
    gate: Bearer | None = None,
) -> Submission:
    """Answer a questionnaire of the merchant: one call to ``campaigns_submit_response``
    (decision 0150), whatever the current schema; the merchant's row is read by it.

    ``nonce`` (the page's, for a questionnaire whose form showed a prize table) sends the
    call to ``campaigns_submit_prize`` instead, which draws the response's prize
    (decision 0283); a questionnaire without a table answers it and the submit goes on
    as without.

    The first answer to a merchant needs the consumer's consent to share with it (PIPL
    art. 23, ``privacy.consent``), sent with the same tap (``share_with_merchant``): the
    function checks it before anything else (decision 0333); the first time, it is
    recorded and the function called again.

    ``gate``: the bearer of a request whose session nothing has checked yet, and
    ``consumer`` its lazy user (``accounts.tokens.defer``). The function's call then checks
    the session itself (``tokens.gated``), and nothing reads ``consumer`` unless the submit
    leaves its one call (a replay, the consent's first time, the slow way), which checks
    it as any read of a deferred user does. ``tokens.GateRefused``: the gate refused and
    nothing ran; the caller takes the full way (decision 0344)."""
    idempotency.check_key(idempotency_key)
    if nonce is not None:
        _check_nonce(nonce)
    return merchant_consent.participate(
        consumer,
        merchant_id,
        share_with_merchant,
        MerchantConsent.Channel.QUESTIONNAIRE,
        lambda: _submit_once(
            merchant_id,
            consumer,
            campaign_id,
            answers,
            idempotency_key,
            share_with_merchant,
            ip,
            nonce,
            gate,
        ),
        ip,
    )


def _submit_once(
    merchant_id: int,
    consumer: User,
    campaign_id: int,
    answers: Any,
    idempotency_key: str,
    share_with_merchant: bool,
    ip: str | None,
    nonce: str | None,
    gate: Bearer | None,
) -> Submission:
    """``submit_to``'s work; ``ConsentMissing`` when the function found no live consent."""
    seen = _ANSWERED.get((merchant_id, campaign_id))
    version_id: int | None = None
    questions: list[dict[str, Any]] | None = None
    cleaned: dict[str, Any] | None = None
    if seen is not None:
        version_id, questions = seen
        try:
            cleaned = validate_answers(questions, answers)
        except (AnswersInvalid, DomainError):
            # Refused against the version seen: the refusal, if it stands, comes
            # after the checks that precede it, read from the live version. The
            # consent's is the first, and no function call makes it here.
            merchant_consent.ensure(
                consumer,
                merchant_id,
                share_with_merchant,
                MerchantConsent.Channel.QUESTIONNAIRE,
                ip,
            )
            with _merchant_schema(merchant_id) as merchant:
                return _submit_in_schema(
                    merchant, consumer, campaign_id, answers, idempotency_key, nonce
                )
    listening = events.listens(merchant_id, EventType.QUESTIONNAIRE_ANSWERED)
    now = timezone.now()
    call = _Call(merchant_id, consumer, campaign_id, answers, idempotency_key, now, nonce, gate)
    try:
        if listening or connection.in_atomic_block:
            # A transaction of its own (a savepoint inside the caller's): a refusal
            # leaves the caller's transaction usable, the webhook's outbox row commits
            # exactly when the response does, and the slow way's rollback releases the
            # bucket's row the function may have locked.
            with transaction.atomic():
                done = call.run(version_id, questions, cleaned)
                if listening and not done.submission.replayed:
                    _record_answered(merchant_id, done, consumer)
        else:
            done = call.run(version_id, questions, cleaned)
    except _Slow:
        with _merchant_schema(merchant_id) as merchant:
            return _submit_in_schema(
                merchant, consumer, campaign_id, answers, idempotency_key, nonce
            )
    except IntegrityError as exc:
        _refuse_emptied(exc)
        # The same consumer submitted twice at once: the first response stands.
        with _merchant_schema(merchant_id):
            return _existing(campaign_id, consumer, idempotency_key, with_prize=bool(nonce))
    if done.submission.replayed:
        return done.submission
    if not connection.in_atomic_block:
        # Committed: the version has a response for good. (Inside a caller's
        # transaction the response may yet roll back, and the version be edited.)
        if len(_ANSWERED) >= _MAX_ANSWERED:
            _ANSWERED.clear()
        _ANSWERED[(merchant_id, campaign_id)] = (done.version.pk, done.version.questions)
    prize = done.submission.prize
    if prize is not None:
        # The draw numbered as the rewarded responses was the last one.
        if prize.seq >= done.questionnaire.max_rewarded_responses:
            with _merchant_schema(merchant_id) as merchant:
                _close_drawn(merchant, done.campaign.pk)
    # Only a submit that emptied a bucket can have emptied the last one, and of those
    # that empty the last ones at once, the last to commit sees them all empty.
    elif done.bucket_left < done.questionnaire.points_per_response:
        with _merchant_schema(merchant_id) as merchant:
            _close_if_empty(merchant, done.campaign, done.questionnaire)
    return done.submission


@dataclass(frozen=True)
class _Done:
    submission: Submission
    campaign: Campaign
    questionnaire: Questionnaire
    version: QuestionnaireVersion
    bucket_left: int


@dataclass(frozen=True)
class _Call:
    """One submit's call of the function, and its answer worded as the domain's."""

    merchant_id: int
    consumer: User
    campaign_id: int
    answers: Any
    idempotency_key: str
    now: datetime
    nonce: str | None = None
    # The bearer whose session the call checks (decision 0344); then ``consumer`` is its
    # lazy user, read only off the one call's way.
    gate: Bearer | None = None

    @property
    def consumer_id(self) -> int:
        return tokens.user_id(self.consumer, self.gate)

    def run(
        self,
        version_id: int | None,
        questions: list[dict[str, Any]] | None,
        cleaned: dict[str, Any] | None,
    ) -> _Done:
        nonce = self.nonce
        # At most three versions in a row: the questions edited between our calls (and
        # one more call when a nonce came for a questionnaire without a prize table).
        for _attempt in range(4):
            row = tokens.fetch_one(
                SUBMIT_SQL if nonce is None else SUBMIT_PRIZE_SQL,
                [
                    self.merchant_id,
                    self.campaign_id,
                    self.consumer_id,
                    self.idempotency_key,
                    version_id,
                    None if cleaned is None else json.dumps(cleaned),
                    self.now,
                    reserves.RESERVE_BUCKETS if nonce is None else nonce,
                    merchant_consent.required(),
                ],
                self.gate,
                self.now,
                phone=False,
            )
            assert row is not None  # the function always answers one row
            if row[0] == Outcome.POINTS:
                nonce = None
                continue
            if row[0] != Outcome.VERSION:
                assert questions is not None or row[0] != Outcome.SUBMITTED
                return self._answer(row, questions or [], cleaned or {})
            version_id = row[7]
            questions = _json(QuestionnaireVersion, "questions", row[9])
            # Every check before it passed: a refusal of the answers is the answer.
            cleaned = validate_answers(questions, self.answers)
        raise _Slow

    def _answer(
        self, row: tuple[Any, ...], questions: list[dict[str, Any]], cleaned: dict[str, Any]
    ) -> _Done:
        prize: prize_claims.Prize | None = None
        bucket_left = 0
        if len(row) == SUBMIT_COLUMNS + 1:
            bucket_left = row[SUBMIT_COLUMNS]
        else:
            tier_name, drawn, awarded, seq, entry_hash = row[SUBMIT_COLUMNS:]
            if seq is not None:
                prize = prize_claims.Prize(awarded, tier_name, drawn, row[10], seq, entry_hash)
        (
            outcome,
            campaign_name,
            status,
            starts_at,
            ends_at,
            questionnaire_id,
            cap,
            version_id,
            version_number,
            _questions,
            points,
            response_id,
            txn_id,
            balance,
        ) = row[:SUBMIT_COLUMNS]
        if outcome == Outcome.UNKNOWN:
            raise _not_found()
        if outcome == Outcome.CONSENT:
            raise merchant_consent.ConsentMissing  # privacy.consent.participate asks
        if outcome in (Outcome.RESPONDED, Outcome.EXISTING):
            with _merchant_schema(self.merchant_id):
                submission = _existing(
                    self.campaign_id,
                    self.consumer,
                    self.idempotency_key,
                    with_prize=len(row) > SUBMIT_COLUMNS + 1,
                )
            response = submission.response
            return _Done(submission, response.campaign, Questionnaire(), response.version, 0)
        if outcome == Outcome.MERCHANT:
            found = Merchant.find(self.merchant_id)
            if found is None:
                raise _not_found()
            found.ensure_can_award()
            raise AssertionError(
                f"the submit function refused merchant {self.merchant_id} (rule drift)"
            )
        if outcome == Outcome.EXHAUSTED:
            if len(row) > SUBMIT_COLUMNS + 1:
                # Every rewarded draw was made: the submit that made the last one may
                # not have closed the campaign yet.
                with _merchant_schema(self.merchant_id) as merchant:
                    _close_drawn(merchant, self.campaign_id)
            raise _exhausted()
        campaign = _SUBMIT_CAMPAIGN.build(
            _values(
                _SUBMIT_CAMPAIGN,
                id=self.campaign_id,
                name=campaign_name,
                status=status,
                starts_at=starts_at,
                ends_at=ends_at,
            )
        )
        if outcome == Outcome.CAMPAIGN:
            campaign.ensure_claimable(self.now)
            raise AssertionError(
                f"the submit function refused campaign {self.campaign_id} (rule drift)"
            )
        if outcome == Outcome.SLOW:
            raise _Slow
        assert outcome == Outcome.SUBMITTED, outcome
        questionnaire = _SUBMIT_QUESTIONNAIRE.build(
            _values(
                _SUBMIT_QUESTIONNAIRE,
                id=questionnaire_id,
                campaign_id=self.campaign_id,
                points_per_response=points,
                max_rewarded_responses=cap,
            )
        )
        version = _SUBMIT_VERSION.build(
            _values(
                _SUBMIT_VERSION,
                id=version_id,
                questionnaire_id=questionnaire_id,
                number=version_number,
                questions=questions,
            )
        )
        response = _RESPONSE.build(
            _values(
                _RESPONSE,
                id=response_id,
                campaign_id=self.campaign_id,
                version_id=version_id,
                consumer_id=self.consumer_id,
                answers=cleaned,
                points=points,
                transaction_id=txn_id,
                idempotency_key=self.idempotency_key,
                submitted_at=self.now,
            )
        )
        response.campaign = campaign
        response.version = version
        return _Done(
            Submission(response, balance, replayed=False, prize=prize),
            campaign,
            questionnaire,
            version,
            bucket_left,
        )


def _record_answered(merchant_id: int, done: _Done, consumer: User) -> None:
    # In the submit's transaction: the event exists exactly when the response does.
    events.record(
        merchant_id,
        EventType.QUESTIONNAIRE_ANSWERED,
        lambda: payloads.questionnaire_answered(
            merchant_id, done.submission.response, done.campaign, done.questionnaire, consumer
        ),
    )


def _exhausted() -> CampaignError:
    return CampaignError(
        QuestionnaireErrorCode.BUDGET_EXHAUSTED,
        _("All rewards of this questionnaire have been given out."),
    )


def _submit_in_schema(
    merchant: Merchant,
    consumer: User,
    campaign_id: int,
    answers: Any,
    idempotency_key: str,
    nonce: str | None = None,
) -> Submission:
    """The submit in Python statements, in the merchant's schema: the way a submit goes
    when the one call cannot finish it (the consumer's own bucket is empty near the cap,
    0146) and for answers refused against a cached version (their refusal then comes
    in the order the checks make, with the live version)."""
    read = _read_for_submit(campaign_id, consumer.pk)
    campaign, questionnaire, version = read.campaign, read.questionnaire, read.version
    if read.previous is not None:
        if read.previous.idempotency_key == idempotency_key:
            return _existing(campaign_id, consumer, idempotency_key, with_prize=bool(nonce))
        raise CampaignError(
            QuestionnaireErrorCode.ALREADY_RESPONDED,
            _("You have already answered this questionnaire."),
        )
    merchant.ensure_can_award()
    _ensure_open(campaign, questionnaire)
    cleaned = validate_answers(version.questions, answers)
    if prize_services.table_of(campaign) is not None:
        # A prize questionnaire's submit is its function's (it draws); here come only a
        # submit without the page's nonce (no bucket of the fixed-points function's
        # holds its reserve) and one whose questions kept changing under it.
        if nonce is None:
            _check_nonce("")
        call = _Call(
            merchant.pk, consumer, campaign_id, answers, idempotency_key, timezone.now(), nonce
        )
        try:
            with transaction.atomic():
                return call.run(version.pk, version.questions, cleaned).submission
        except IntegrityError as exc:
            _refuse_emptied(exc)
            return _existing(campaign_id, consumer, idempotency_key, with_prize=True)
    points = questionnaire.points_per_response
    wallet = read.wallet or ledger.wallet(consumer.pk)
    order = sorted(reserves.bucket_sizes(questionnaire.max_rewarded_responses))
    start = consumer.pk % len(order)
    refs = [questionnaire.reserve_ref(bucket) for bucket in order[start:] + order[:start]]
    now = timezone.now()
    key = f"survey:{connection.schema_name}:{campaign.pk}:{consumer.pk}"
    reward = _Reward(merchant, campaign, consumer, wallet, points, key, now)

    def respond(txn: Transaction) -> Response:
        response = Response(
            campaign=campaign,
            version=version,
            consumer=consumer,
            answers=cleaned,
            points=points,
            transaction=txn,
            idempotency_key=idempotency_key,
            submitted_at=now,
        )
        _INSERT_RESPONSE.one(response)
        events.record(
            merchant.pk,
            EventType.QUESTIONNAIRE_ANSWERED,
            lambda: payloads.questionnaire_answered(
                merchant.pk, response, campaign, questionnaire, consumer
            ),
        )
        return response

    bucket_left: int | None = None  # what the paying bucket holds after, on the fast path
    try:
        try:
            with transaction.atomic(), rows.one_cursor():
                _hold_open(campaign, questionnaire)
                row = rows.fetch_one(
                    _LOCK_BUCKET, [AccountKind.CAMPAIGN_RESERVE, merchant.pk, refs[0], points]
                )
                if row is None:
                    raise _OwnBucketEmpty
                bucket = _ACCOUNT.build(row)
                txn: Transaction | None = reward.post(bucket, savepoint=False)
                if txn is not None and not txn.replayed:
                    response = respond(txn)
                    bucket_left = txn.balances[bucket.pk]
        except _OwnBucketEmpty:
            with transaction.atomic():
                _hold_open(campaign, questionnaire)
                txn = _reward_from_any(reward, merchant, refs)
                if txn is not None and not txn.replayed:
                    response = respond(txn)
    except IntegrityError:
        # The same consumer submitted twice at once: the first response stands.
        return _existing(campaign.pk, consumer, idempotency_key)
    if txn is None:
        _close_exhausted(campaign, questionnaire)
        raise CampaignError(
            QuestionnaireErrorCode.BUDGET_EXHAUSTED,
            _("All rewards of this questionnaire have been given out."),
        )
    if txn.replayed:
        return _existing(campaign.pk, consumer, idempotency_key)
    # Only a submit that emptied a bucket can have emptied the last one, and of those
    # that empty the last ones at once, the last to commit sees them all empty.
    if bucket_left is None or bucket_left < points:
        _close_if_empty(merchant, campaign, questionnaire)
    return Submission(response, txn.balances[wallet.pk], replayed=False)


@dataclass(frozen=True)
class _Reward:
    """The award of one response, from whichever bucket pays it."""

    merchant: Merchant
    campaign: Campaign
    consumer: User
    wallet: Account
    points: int
    key: str
    now: datetime

    def post(self, bucket: Account, *, savepoint: bool) -> Transaction:
        try:
            return ledger.post(
                TransactionKind.AWARD,
                self.key,
                [Posting(bucket, -self.points), Posting(self.wallet, self.points)],
                merchant_id=self.merchant.pk,
                consumer_id=self.consumer.pk,
                memo=self.campaign.name[:200],
                metadata={"campaign": self.campaign.pk},
                lot_expires_at=self.now + timedelta(days=self.merchant.points_expiry_days),
                savepoint=savepoint,
            )
        except LedgerError as exc:
            if exc.code == CoreErrorCode.IDEMPOTENCY_CONFLICT:
                # Our own concurrent submission was paid from another bucket.
                raise IntegrityError("duplicate submission") from exc
            raise


def _reward_from_any(reward: _Reward, merchant: Merchant, refs: list[str]) -> Transaction | None:
    """The slow way, when the consumer's own bucket is empty: each bucket in turn, each
    attempt in a savepoint (a refused one releases the bucket's row at once: holding
    rows taken in each consumer's own order could deadlock); None when all are empty."""
    for ref in refs:
        try:
            return reward.post(ledger.campaign_reserve(merchant.pk, ref), savepoint=True)
        except LedgerError as exc:
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


def _close_drawn(merchant: Merchant, campaign_id: int) -> None:
    """A prize questionnaire whose rewarded responses all drew ends as a campaign ended
    by its merchant does (``campaigns.services.set_status``, a floor above): its seed
    revealed, the coupons and points no draw took returned (decision 0283)."""
    with transaction.atomic():
        # The campaign's row, then the head (``reveal``), then the reserve: the lock order
        # of every draw (decision 0318), whose first read takes this row in key share.
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status == CampaignStatus.ENDED:
            return
        prize_services.reveal(campaign)
        prize_coupons.return_leftovers(campaign)
        release(merchant, campaign)
        _close_exhausted(campaign, Questionnaire.objects.get(campaign=campaign))


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
