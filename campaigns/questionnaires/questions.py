"""Question definitions and answer validation for questionnaires.

A version's questions are a list of dicts, checked by ``validate_definition``::

    {"id": "q1", "type": "single_choice", "text": "...", "help": "", "required": true,
     "options": [{"id": "a", "label": "..."}],             # choice types
     "minSelections": 1, "maxSelections": 2,               # multiple_choice
     "minLength": 0, "maxLength": 200,                     # short_text / long_text
     "min": 0, "max": 100,                                 # number
     "showIf": {"question": "q0", "option": "a"}}          # an earlier choice question

Answers are ``{question id: value}``; ``validate_answers`` returns the cleaned answers
or raises ``AnswersInvalid`` with one error per question at fault (``field`` is the
question id), so a form can show every problem at once.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from campaigns.error_codes import QuestionnaireErrorCode
from core.errors import DomainError, DomainErrors

TYPES = {
    "single_choice",
    "multiple_choice",
    "short_text",
    "long_text",
    "rating",
    "nps",
    "number",
    "date",
}
CHOICE_TYPES = {"single_choice", "multiple_choice"}
TEXT_LIMITS = {"short_text": 200, "long_text": 5000}
SCALES = {"rating": (1, 5), "nps": (0, 10)}
ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
MAX_QUESTIONS = 100
MAX_OPTIONS = 50


class AnswersInvalid(DomainErrors):
    """Several problems at once: ``errors`` holds one DomainError per question."""


def _bad(where: str, message: str) -> DomainError:
    return DomainError(QuestionnaireErrorCode.INVALID_QUESTION, message, where)


def validate_definition(questions: Any) -> list[dict[str, Any]]:
    """Check a question list and return it normalised (defaults filled in)."""
    if not isinstance(questions, list) or not 1 <= len(questions) <= MAX_QUESTIONS:
        raise _bad("questions", _("A questionnaire has 1 to 100 questions."))
    seen: dict[str, dict[str, Any]] = {}
    result = []
    for index, raw in enumerate(questions):
        where = f"questions[{index}]"
        if not isinstance(raw, dict):
            raise _bad(where, _("Each question is an object."))
        qid, kind = raw.get("id"), raw.get("type")
        if not isinstance(qid, str) or not ID_RE.match(qid) or qid in seen:
            raise _bad(f"{where}.id", _("Each question needs a unique id (letters, digits)."))
        if kind not in TYPES:
            raise _bad(f"{where}.type", _("Unknown question type."))
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > 500:
            raise _bad(f"{where}.text", _("Each question needs a text (500 characters at most)."))
        question: dict[str, Any] = {
            "id": qid,
            "type": kind,
            "text": text.strip(),
            "help": str(raw.get("help") or "")[:500],
            "required": bool(raw.get("required", False)),
        }
        if kind in CHOICE_TYPES:
            options = raw.get("options")
            if not isinstance(options, list) or not 2 <= len(options) <= MAX_OPTIONS:
                raise _bad(f"{where}.options", _("A choice question has 2 to 50 options."))
            ids = set()
            for option in options:
                oid = option.get("id") if isinstance(option, dict) else None
                label = option.get("label") if isinstance(option, dict) else None
                if (
                    not isinstance(oid, str)
                    or not ID_RE.match(oid)
                    or oid in ids
                    or not (isinstance(label, str) and label.strip())
                ):
                    raise _bad(f"{where}.options", _("Options need unique ids and labels."))
                ids.add(oid)
            question["options"] = [{"id": o["id"], "label": o["label"].strip()} for o in options]
        if kind == "multiple_choice":
            low = raw.get("minSelections", 0)
            high = raw.get("maxSelections", len(question["options"]))
            if not (
                isinstance(low, int)
                and isinstance(high, int)
                and 0 <= low <= high <= len(question["options"])
                and high >= 1
            ):
                raise _bad(f"{where}.maxSelections", _("Selections: 0 ≤ min ≤ max ≤ options."))
            question["minSelections"], question["maxSelections"] = low, high
        if kind in TEXT_LIMITS:
            low, high = raw.get("minLength", 0), raw.get("maxLength", TEXT_LIMITS[kind])
            if not (
                isinstance(low, int)
                and isinstance(high, int)
                and 0 <= low <= high <= TEXT_LIMITS[kind]
                and high >= 1
            ):
                raise _bad(f"{where}.maxLength", _("Text length limits are out of range."))
            question["minLength"], question["maxLength"] = low, high
        if kind == "number":
            low, high = raw.get("min"), raw.get("max")
            for value in (low, high):
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int | float)
                ):
                    raise _bad(f"{where}.min", _("Number limits must be numbers."))
            if low is not None and high is not None and low > high:
                raise _bad(f"{where}.max", _("The maximum must not be below the minimum."))
            question["min"], question["max"] = low, high
        show_if = raw.get("showIf")
        if show_if is not None:
            named = show_if.get("question") if isinstance(show_if, dict) else None
            # Question ids are strings: anything else names no earlier question.
            target = seen.get(named) if isinstance(named, str) else None
            if (
                target is None
                or target["type"] not in CHOICE_TYPES
                or show_if.get("option") not in {o["id"] for o in target["options"]}
            ):
                raise _bad(
                    f"{where}.showIf",
                    _("A condition names an earlier choice question and one of its options."),
                )
            question["showIf"] = {"question": show_if["question"], "option": show_if["option"]}
        seen[qid] = question
        result.append(question)
    return result


def _chosen(question: dict[str, Any], answer: Any) -> set[str]:
    if question["type"] == "single_choice":
        return {answer} if isinstance(answer, str) else set()
    return set(answer) if isinstance(answer, list) else set()


def is_visible(
    question: dict[str, Any], answers: dict[str, Any], by_id: dict[str, dict[str, Any]]
) -> bool:
    condition = question.get("showIf")
    if not condition:
        return True
    target = by_id[condition["question"]]
    return is_visible(target, answers, by_id) and condition["option"] in _chosen(
        target, answers.get(condition["question"])
    )


def visible_questions(
    questions: list[dict[str, Any]], answers: dict[str, Any]
) -> list[dict[str, Any]]:
    by_id = {q["id"]: q for q in questions}
    return [q for q in questions if is_visible(q, answers, by_id)]


def _check(question: dict[str, Any], value: Any) -> Any:
    """The cleaned value of one answer, or a DomainError."""
    qid, kind = question["id"], question["type"]

    def error(code: QuestionnaireErrorCode, message: str) -> DomainError:
        return DomainError(code, message, qid)

    if kind == "single_choice":
        if not isinstance(value, str):
            raise error(QuestionnaireErrorCode.INVALID_ANSWER, _("Choose one option."))
        if value not in {o["id"] for o in question["options"]}:
            raise error(QuestionnaireErrorCode.INVALID_OPTION, _("This option does not exist."))
        return value
    if kind == "multiple_choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise error(QuestionnaireErrorCode.INVALID_ANSWER, _("Choose options from the list."))
        if len(set(value)) != len(value) or not set(value) <= {
            o["id"] for o in question["options"]
        }:
            raise error(
                QuestionnaireErrorCode.INVALID_OPTION, _("An option does not exist or is repeated.")
            )
        if len(value) > question["maxSelections"]:
            raise error(
                QuestionnaireErrorCode.TOO_MANY_SELECTIONS,
                _("Choose at most %(n)d.") % {"n": question["maxSelections"]},
            )
        if len(value) < question["minSelections"]:
            raise error(
                QuestionnaireErrorCode.TOO_FEW_SELECTIONS,
                _("Choose at least %(n)d.") % {"n": question["minSelections"]},
            )
        return value
    if kind in TEXT_LIMITS:
        if not isinstance(value, str):
            raise error(QuestionnaireErrorCode.INVALID_ANSWER, _("Write your answer as text."))
        value = value.strip()
        if len(value) > question["maxLength"]:
            raise error(
                QuestionnaireErrorCode.TEXT_TOO_LONG,
                _("At most %(n)d characters.") % {"n": question["maxLength"]},
            )
        if len(value) < question["minLength"]:
            raise error(
                QuestionnaireErrorCode.TEXT_TOO_SHORT,
                _("At least %(n)d characters.") % {"n": question["minLength"]},
            )
        return value
    if kind in SCALES or kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise error(QuestionnaireErrorCode.INVALID_ANSWER, _("Give a number."))
        low, high = SCALES.get(kind, (question.get("min"), question.get("max")))
        if kind in SCALES and not isinstance(value, int):
            raise error(QuestionnaireErrorCode.INVALID_ANSWER, _("Give a whole number."))
        if (low is not None and value < low) or (high is not None and value > high):
            raise error(
                QuestionnaireErrorCode.OUT_OF_RANGE,
                _("Give a number from %(low)s to %(high)s.")
                % {
                    "low": low if low is not None else "…",
                    "high": high if high is not None else "…",
                },
            )
        return value
    # date
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise error(QuestionnaireErrorCode.INVALID_DATE, _("Give a date as YYYY-MM-DD.")) from None


def validate_answers(questions: list[dict[str, Any]], answers: Any) -> dict[str, Any]:
    if not isinstance(answers, dict):
        raise AnswersInvalid(
            [
                DomainError(
                    QuestionnaireErrorCode.INVALID_ANSWER,
                    _("Answers must be an object."),
                    "answers",
                )
            ]
        )
    by_id = {q["id"]: q for q in questions}
    errors: list[DomainError] = []
    cleaned: dict[str, Any] = {}
    for qid in answers:
        if qid not in by_id:
            errors.append(
                DomainError(
                    QuestionnaireErrorCode.UNKNOWN_QUESTION, _("No such question."), str(qid)[:40]
                )
            )
    for question in questions:
        qid = question["id"]
        value = answers.get(qid)
        empty = value is None or value == "" or value == []
        if not is_visible(question, answers, by_id):
            if not empty:
                errors.append(
                    DomainError(
                        QuestionnaireErrorCode.HIDDEN_QUESTION_ANSWERED,
                        _("This question does not apply to you."),
                        qid,
                    )
                )
            continue
        if empty:
            if question["required"]:
                errors.append(
                    DomainError(
                        QuestionnaireErrorCode.REQUIRED, _("Please answer this question."), qid
                    )
                )
            continue
        try:
            cleaned[qid] = _check(question, value)
        except DomainError as exc:
            errors.append(exc)
    if errors:
        raise AnswersInvalid(errors)
    return cleaned
