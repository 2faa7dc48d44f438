"""Questionnaires at the service level: builder rules, answer validation, versions, results."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import CampaignStatus, Response
from campaigns.questionnaires import results
from campaigns.questionnaires import services as questionnaires
from campaigns.questionnaires.questions import AnswersInvalid
from campaigns.services import set_status
from core.errors import DomainError
from points import ledger
from points.audit import audit
from tests.fixtures.tenants import Tenants, fund
from webhooks import events
from webhooks.models import EventType

pytestmark = pytest.mark.django_db

QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "visit",
        "type": "single_choice",
        "text": "Visited our shop?",
        "required": True,
        "options": [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}],
    },
    {
        "id": "liked",
        "type": "multiple_choice",
        "text": "What did you like?",
        "options": [
            {"id": "tea", "label": "Tea"},
            {"id": "cake", "label": "Cake"},
            {"id": "staff", "label": "Staff"},
        ],
        "maxSelections": 2,
        "showIf": {"question": "visit", "option": "yes"},
    },
    {"id": "stars", "type": "rating", "text": "Rate us", "required": True},
    {"id": "nps", "type": "nps", "text": "Recommend us?"},
    {"id": "cups", "type": "number", "text": "Cups a week", "min": 0, "max": 50},
    {"id": "note", "type": "short_text", "text": "Anything else?", "maxLength": 10},
    {"id": "birthday", "type": "date", "text": "Birthday"},
]


@pytest.fixture
def acme(tenants: Tenants, unique) -> Iterator[Tenants]:
    fund(tenants.acme, 10_000, unique)
    with tenant_context(tenants.acme):
        yield tenants


def _survey(merchant, cap: int = 5, points: int = 20):
    campaign = questionnaires.create_questionnaire_campaign(
        name="Taste survey",
        questions=QUESTIONS,
        points_per_response=points,
        max_rewarded_responses=cap,
    )
    set_status(merchant, campaign, CampaignStatus.ACTIVE)
    return campaign


def _consumer(new_phone) -> User:
    return User.objects.get_or_create_consumer(new_phone())[0]


def test_activation_reserves_the_cap_and_a_response_earns_once(acme: Tenants, new_phone) -> None:
    budget = ledger.merchant_budget(acme.acme.pk)
    before = ledger.balance_of(budget)
    campaign = _survey(acme.acme, cap=5, points=20)
    assert ledger.balance_of(budget) == before - 100
    consumer = _consumer(new_phone)
    visible = questionnaires.open_questionnaire(consumer, campaign.pk, {"visit": "no"})
    assert "liked" not in [q["id"] for q in visible]
    answers = {"visit": "yes", "liked": ["tea"], "stars": 4, "nps": 9, "cups": 3}
    first = questionnaires.submit(acme.acme, consumer, campaign.pk, answers, "k1")
    assert (first.balance, first.replayed) == (20, False)
    assert questionnaires.submit(acme.acme, consumer, campaign.pk, answers, "k1").replayed
    with pytest.raises(DomainError) as exc:
        questionnaires.submit(acme.acme, consumer, campaign.pk, answers, "k2")
    assert exc.value.code == "ALREADY_RESPONDED"
    set_status(acme.acme, campaign, CampaignStatus.ENDED)
    assert ledger.balance_of(budget) == before - 20  # the unused 4 x 20 came back
    assert audit() == []


@pytest.mark.parametrize(
    ("answers", "code", "field"),
    [
        ({"stars": 4}, "REQUIRED", "visit"),
        ({"visit": "maybe", "stars": 4}, "INVALID_OPTION", "visit"),
        (
            {"visit": "yes", "liked": ["tea", "cake", "staff"], "stars": 4},
            "TOO_MANY_SELECTIONS",
            "liked",
        ),
        ({"visit": "yes", "stars": 4, "cups": 51}, "OUT_OF_RANGE", "cups"),
        ({"visit": "yes", "stars": 6}, "OUT_OF_RANGE", "stars"),
        ({"visit": "no", "liked": ["tea"], "stars": 4}, "HIDDEN_QUESTION_ANSWERED", "liked"),
        ({"visit": "yes", "stars": 4, "note": "far too long text"}, "TEXT_TOO_LONG", "note"),
        ({"visit": "yes", "stars": 4, "birthday": "31/12/1990"}, "INVALID_DATE", "birthday"),
        ({"visit": "yes", "stars": 4, "colour": "red"}, "UNKNOWN_QUESTION", "colour"),
    ],
)
def test_each_invalid_answer_has_its_own_error_and_stores_nothing(
    acme: Tenants, new_phone, answers: dict, code: str, field: str
) -> None:
    campaign = _survey(acme.acme)
    consumer = _consumer(new_phone)
    with pytest.raises(AnswersInvalid) as exc:
        questionnaires.submit(acme.acme, consumer, campaign.pk, answers, "k")
    assert (code, field) in [(e.code, e.field) for e in exc.value.errors]
    assert not Response.objects.filter(campaign=campaign).exists()
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 0


def test_bad_definitions_are_refused(acme: Tenants) -> None:
    bad = [
        [],
        [{"id": "a", "type": "essay", "text": "?"}],
        [{"id": "a", "type": "single_choice", "text": "?", "options": [{"id": "x", "label": "X"}]}],
        [
            {
                "id": "a",
                "type": "short_text",
                "text": "?",
                "showIf": {"question": "b", "option": "x"},
            }
        ],
        [{"id": "a", "type": "rating", "text": "?"}, {"id": "a", "type": "rating", "text": "?"}],
    ]
    for questions in bad:
        with pytest.raises(DomainError) as exc:
            questionnaires.create_questionnaire_campaign(
                name="Bad", questions=questions, points_per_response=1, max_rewarded_responses=1
            )
        assert exc.value.code == "INVALID_QUESTION", questions


def test_editing_after_responses_makes_a_new_version(acme: Tenants, new_phone) -> None:
    campaign = _survey(acme.acme)
    old = questionnaires.submit(
        acme.acme, _consumer(new_phone), campaign.pk, {"visit": "no", "stars": 5}, "k"
    ).response
    edited = [dict(q) for q in QUESTIONS if q["id"] != "cups"]
    edited[2] = {**edited[2], "text": "Rate our tea"}
    version = questionnaires.edit_questions(campaign, edited)
    assert version.number == 2
    old.refresh_from_db()
    assert old.version.number == 1 and old.answers == {"visit": "no", "stars": 5}
    assert "cups" in [q["id"] for q in old.version.questions]
    # No one has answered version 2 yet: a further edit changes it in place.
    assert questionnaires.edit_questions(campaign, edited).number == 2
    new = questionnaires.submit(
        acme.acme, _consumer(new_phone), campaign.pk, {"visit": "no", "stars": 3}, "k"
    ).response
    assert new.version == version


def test_results_match_a_hand_computed_fixture(acme: Tenants, new_phone) -> None:
    campaign = _survey(acme.acme, cap=10)
    fixture = [
        {"visit": "yes", "liked": ["tea", "cake"], "stars": 5, "nps": 10, "cups": 2},
        {"visit": "yes", "liked": ["tea"], "stars": 4, "nps": 9, "cups": 4},
        {"visit": "no", "stars": 2, "nps": 3, "note": "slow"},
        {"visit": "yes", "liked": ["staff"], "stars": 4, "nps": 7, "cups": 9},
    ]
    for i, answers in enumerate(fixture):
        consumer = _consumer(new_phone)
        questionnaires.open_questionnaire(consumer, campaign.pk)
        questionnaires.submit(acme.acme, consumer, campaign.pk, answers, f"k{i}")
    questionnaires.open_questionnaire(_consumer(new_phone), campaign.pk)  # opened, never sent
    by_id = {r.question["id"]: r for r in results.results(campaign)}
    assert by_id["visit"].counts == {"yes": 3, "no": 1}
    assert by_id["visit"].percent("yes") == 75.0
    assert by_id["liked"].counts == {"tea": 2, "cake": 1, "staff": 1}
    assert by_id["liked"].answered == 3
    assert by_id["stars"].mean == 3.75 and by_id["stars"].counts == {"5": 1, "4": 2, "2": 1}
    # NPS: promoters 2 (10, 9), detractors 1 (3), passive 1 (7) of 4 → 25.
    assert by_id["nps"].nps == 25.0
    assert (by_id["cups"].minimum, by_id["cups"].maximum, by_id["cups"].mean) == (2, 9, 5.0)
    assert by_id["cups"].median == 4.0
    assert [text for _id, text in results.text_answers(campaign, "note")] == ["slow"]
    assert results.completion(campaign) == (5, 4, 80.0)
    assert sum(n for _day, n in results.responses_per_day(campaign)) == 4


def test_a_submit_pays_from_its_own_bucket_in_few_statements(
    acme: Tenants, new_phone, django_assert_max_num_queries: Any
) -> None:
    # 32 rewards: two a bucket, so this submit leaves its bucket able to pay another and
    # the cap is not summed after it (decision 0147).
    campaign = _survey(acme.acme, cap=32, points=2)
    consumer = _consumer(new_phone)
    ledger.wallet(consumer.pk)
    events.listens(acme.acme.pk, EventType.QUESTIONNAIRE_ANSWERED)  # cached, as a worker has it
    answers = {"visit": "no", "stars": 5}
    # The read, the bucket's lock, the ledger's posting (transaction, two balances,
    # entries, lot), the response, and the savepoint the test's transaction adds around
    # it: no bucket lookup, savepoint of the posting's own, balance read or cap check.
    with django_assert_max_num_queries(10):
        submitted = questionnaires.submit(acme.acme, consumer, campaign.pk, answers, "k")
    assert (submitted.balance, submitted.replayed) == (2, False)


def test_a_submitter_whose_bucket_is_empty_is_paid_from_another_then_the_cap_ends_it(
    acme: Tenants, new_phone
) -> None:
    campaign = _survey(acme.acme, cap=2, points=20)  # buckets 0 and 1, one reward each
    consumers: list[User] = []
    while len(consumers) < 2:  # two consumers whose own bucket is the same
        consumer = _consumer(new_phone)
        if not consumers or consumer.pk % 2 == consumers[0].pk % 2:
            consumers.append(consumer)
    answers = {"visit": "no", "stars": 5}
    for n, consumer in enumerate(consumers):
        assert questionnaires.submit(acme.acme, consumer, campaign.pk, answers, "k").balance == 20
        campaign.refresh_from_db()
        # The second emptied the last bucket (the other consumer's): it ended the campaign.
        assert (campaign.status == CampaignStatus.ENDED) == (n == 1)
    with pytest.raises(DomainError) as exc:
        questionnaires.submit(acme.acme, _consumer(new_phone), campaign.pk, answers, "k")
    assert exc.value.code == "BUDGET_EXHAUSTED"
    assert audit() == []
