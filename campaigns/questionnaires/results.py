"""Questionnaire results: per-question aggregates, responses over time, completion rate.

Choice counts, rating and NPS distributions and numeric summaries are computed in
SQL over the answers' JSON (one grouped query per question, whatever the number of
responses); text answers are read page by page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncDate

from campaigns.models import Campaign, Questionnaire, QuestionnaireOpen, Response


@dataclass
class QuestionResult:
    question: dict[str, Any]
    answered: int = 0
    # option id (or scale value, as a string) → count
    counts: dict[str, int] = field(default_factory=dict)
    mean: float | None = None
    median: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    nps: float | None = None

    def percent(self, key: str) -> float:
        return round(100.0 * self.counts.get(key, 0) / self.answered, 1) if self.answered else 0.0


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def question_result(campaign: Campaign, question: dict[str, Any]) -> QuestionResult:
    qid, kind = question["id"], question["type"]
    result = QuestionResult(question)
    base = "FROM campaigns_response WHERE campaign_id = %s AND answers ? %s"
    if kind == "multiple_choice":
        rows = _rows(
            "SELECT option, COUNT(*) FROM campaigns_response, "
            "jsonb_array_elements_text(answers -> %s) AS option "
            "WHERE campaign_id = %s AND answers ? %s GROUP BY option",
            [qid, campaign.pk, qid],
        )
        result.counts = {option: count for option, count in rows}
        result.answered = _rows(f"SELECT COUNT(*) {base}", [campaign.pk, qid])[0][0]
    elif kind in ("single_choice", "rating", "nps"):
        rows = _rows(f"SELECT answers ->> %s, COUNT(*) {base} GROUP BY 1", [qid, campaign.pk, qid])
        result.counts = {value: count for value, count in rows}
        result.answered = sum(result.counts.values())
    else:
        result.answered = _rows(f"SELECT COUNT(*) {base}", [campaign.pk, qid])[0][0]
    if kind in ("rating", "nps", "number") and result.answered:
        mean, median, low, high = _rows(
            "SELECT AVG((answers ->> %s)::numeric), "
            "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY (answers ->> %s)::numeric), "
            f"MIN((answers ->> %s)::numeric), MAX((answers ->> %s)::numeric) {base}",
            [qid, qid, qid, qid, campaign.pk, qid],
        )[0]
        result.mean, result.median = round(float(mean), 2), float(median)
        result.minimum, result.maximum = float(low), float(high)
    if kind == "nps" and result.answered:
        promoters = sum(n for v, n in result.counts.items() if int(v) >= 9)
        detractors = sum(n for v, n in result.counts.items() if int(v) <= 6)
        result.nps = round(100.0 * (promoters - detractors) / result.answered, 1)
    return result


def results(campaign: Campaign) -> list[QuestionResult]:
    """Aggregates for the questions of the current version (older versions' responses
    count where they answered a question with the same id)."""
    questionnaire = Questionnaire.objects.select_related("current_version").get(campaign=campaign)
    return [question_result(campaign, q) for q in questionnaire.live_version().questions]


def text_answers(
    campaign: Campaign, question_id: str, *, limit: int = 50, offset: int = 0
) -> list[tuple[int, str]]:
    """One page of a text question's answers, newest first: (response id, text)."""
    return _rows(
        "SELECT id, answers ->> %s FROM campaigns_response "
        "WHERE campaign_id = %s AND answers ? %s ORDER BY submitted_at DESC, id DESC "
        "LIMIT %s OFFSET %s",
        [question_id, campaign.pk, question_id, min(limit, 100), max(offset, 0)],
    )


def responses_per_day(campaign: Campaign) -> list[tuple[Any, int]]:
    return list(
        Response.objects.filter(campaign=campaign)
        .annotate(day=TruncDate("submitted_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
        .values_list("day", "n")
    )


def completion(campaign: Campaign) -> tuple[int, int, float]:
    """(consumers who opened it, responses, submitted / opened as a percentage)."""
    opened = QuestionnaireOpen.objects.filter(campaign=campaign).count()
    submitted = Response.objects.filter(campaign=campaign).count()
    return opened, submitted, round(100.0 * submitted / opened, 1) if opened else 0.0
