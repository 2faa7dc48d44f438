"""Questionnaires through both GraphQL APIs (HTTP, real PostgreSQL), the phone page and
the exports. The operations sent are the ones in graphql/operations/."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from graphql_relay import from_global_id, to_global_id
from openpyxl import load_workbook

from accounts.models import User
from campaigns.models import Campaign, Response
from campaigns.questionnaires import exports as questionnaire_exports
from campaigns.questionnaires import results
from campaigns.questionnaires.links import parse_link, questionnaire_link
from campaigns.tests.test_questionnaires import QUESTIONS
from frontend.consumer.views import QUESTIONNAIRE_OPERATIONS as PAGE_OPERATIONS
from frontend.pages import OPERATIONS_DIR
from points import ledger
from points.audit import audit
from tests.fixtures.api import Api, access_token, streamed_body
from tests.fixtures.tenants import Tenants, fund

pytestmark = pytest.mark.django_db

GOOD = {"visit": "yes", "liked": ["tea"], "stars": 4, "nps": 9, "cups": 3}


@pytest.fixture
def acme(tenants: Tenants, unique: Callable[[str], str]) -> Tenants:
    fund(tenants.acme, 100_000, unique)
    return tenants


def staff(api: Api, user: User, name: str, variables: dict[str, Any], merchant: str = "acme"):
    return api.op(name, variables, token=access_token(user), merchant=merchant)


def create(
    api: Api, t: Tenants, *, cap: int = 5, points: int = 20, activate: bool = True
) -> dict[str, Any]:
    result = staff(
        api,
        t.acme_operator,
        "CreateQuestionnaire",
        {
            "name": "Taste survey",
            "description": "Two minutes",
            "pointsPerResponse": points,
            "maxRewardedResponses": cap,
            "questions": json.dumps(QUESTIONS),
        },
    )
    payload = result["data"]["createQuestionnaire"]
    assert payload["errors"] == [], payload
    questionnaire = payload["questionnaire"]
    if activate:
        activated = staff(
            api, t.acme_operator, "ActivateCampaign", {"id": questionnaire["campaign"]["id"]}
        )["data"]["activateCampaign"]
        assert activated["errors"] == [], activated
    return questionnaire


def submit(api: Api, user: User, link: str, answers: Any, key: str = "k1") -> dict[str, Any]:
    return api.op(
        "SubmitResponse",
        {"link": link, "answers": json.dumps(answers), "idempotencyKey": key},
        token=access_token(user),
    )["data"]["submitResponse"]


def consumer_for(new_phone: Callable[[], str]) -> User:
    return User.objects.get_or_create_consumer(new_phone())[0]


def campaign_of(t: Tenants, questionnaire: dict[str, Any]) -> Campaign:
    parsed = parse_link(questionnaire["link"])
    assert parsed is not None, questionnaire["link"]
    merchant_id, key = parsed
    assert merchant_id == t.acme.pk
    with tenant_context(t.acme):
        return Campaign.objects.get(link_key=key)


# --- Builder --------------------------------------------------------------------------


def test_builder_creates_a_draft_with_link_and_activation_reserves(
    merchant_api: Api, acme: Tenants
) -> None:
    budget = ledger.merchant_budget(acme.acme.pk)
    before = ledger.balance_of(budget)
    q = create(merchant_api, acme, cap=5, points=20, activate=False)
    assert q["status"] == "DRAFT" and q["version"] == 1
    assert q["link"].startswith("000") and q["shareUrl"].endswith(f"/q/{q['link']}")
    assert [x["id"] for x in q["questions"]] == [x["id"] for x in QUESTIONS]
    assert q["questions"][1]["showIf"] == {"question": "visit", "option": "yes"}
    assert ledger.balance_of(budget) == before
    staff(merchant_api, acme.acme_operator, "ActivateCampaign", {"id": q["campaign"]["id"]})
    assert ledger.balance_of(budget) == before - 100


def test_builder_refuses_bad_questions_and_viewers(merchant_api: Api, acme: Tenants) -> None:
    bad = staff(
        merchant_api,
        acme.acme_operator,
        "CreateQuestionnaire",
        {
            "name": "Bad",
            "pointsPerResponse": 1,
            "maxRewardedResponses": 1,
            "questions": json.dumps([{"id": "a", "type": "essay", "text": "?"}]),
        },
    )["data"]["createQuestionnaire"]
    assert bad["questionnaire"] is None
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [
        ("INVALID_QUESTION", "questions[0].type")
    ]
    q = create(merchant_api, acme)
    refused = staff(
        merchant_api,
        acme.acme_viewer,
        "EditQuestions",
        {"id": q["id"], "questions": json.dumps(QUESTIONS[:1])},
    )["data"]["editQuestions"]
    assert [e["code"] for e in refused["errors"]] == ["PERMISSION_DENIED"]
    # Ending needs an admin, like any campaign.
    ended = staff(merchant_api, acme.acme_operator, "EndCampaign", {"id": q["campaign"]["id"]})
    assert [e["code"] for e in ended["data"]["endCampaign"]["errors"]] == ["PERMISSION_DENIED"]
    ended = staff(merchant_api, acme.acme_admin, "EndCampaign", {"id": q["campaign"]["id"]})
    assert ended["data"]["endCampaign"]["campaign"]["status"] == "ENDED"


# --- Consumer: fetching and submitting ------------------------------------------------


def test_visible_questions_follow_the_answers_and_anonymous_can_look(
    consumer_api: Api, merchant_api: Api, acme: Tenants, new_phone
) -> None:
    q = create(merchant_api, acme)
    anonymous = consumer_api.op("Questionnaire", {"link": q["link"]})["data"]["questionnaire"]
    assert anonymous["merchantName"] == acme.acme.name
    assert (anonymous["campaignName"], anonymous["pointsPerResponse"]) == ("Taste survey", 20)
    assert anonymous["state"] == "OPEN"
    assert "liked" not in [x["id"] for x in anonymous["questions"]]
    shown = consumer_api.op(
        "Questionnaire", {"link": q["link"], "answers": json.dumps({"visit": "yes"})}
    )["data"]["questionnaire"]
    assert "liked" in [x["id"] for x in shown["questions"]]
    consumer = consumer_for(new_phone)
    seen = consumer_api.op("Questionnaire", {"link": q["link"]}, token=access_token(consumer))
    assert seen["data"]["questionnaire"]["state"] == "OPEN"
    with tenant_context(acme.acme):
        assert results.completion(campaign_of(acme, q))[0] == 1  # counted as opened
    unknown = consumer_api.op("Questionnaire", {"link": "ZZZZ-1"})
    assert [e["extensions"]["code"] for e in unknown["errors"]] == ["NOT_FOUND"]
    missing = consumer_api.op("Questionnaire", {"link": q["link"].split("-")[0] + "-999999"})
    assert [e["extensions"]["code"] for e in missing["errors"]] == ["NOT_FOUND"]


def test_submit_rewards_once_replays_and_refuses_a_second(
    consumer_api: Api, merchant_api: Api, acme: Tenants, new_phone
) -> None:
    q = create(merchant_api, acme)
    consumer = consumer_for(new_phone)
    first = submit(consumer_api, consumer, q["link"], GOOD, key="once")
    assert first["errors"] == [] and first["replayed"] is False
    assert (first["response"]["points"], first["response"]["version"], first["balance"]) == (
        20,
        1,
        20,
    )
    again = submit(consumer_api, consumer, q["link"], GOOD, key="once")
    assert again["replayed"] is True and again["balance"] == 20
    other = submit(consumer_api, consumer, q["link"], GOOD, key="twice")
    assert [e["code"] for e in other["errors"]] == ["ALREADY_RESPONDED"]
    assert other["response"] is None
    state = consumer_api.op("Questionnaire", {"link": q["link"]}, token=access_token(consumer))
    assert state["data"]["questionnaire"]["state"] == "ALREADY_RESPONDED"
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 20
    with tenant_context(acme.acme):
        assert Response.objects.filter(consumer=consumer).count() == 1
    assert audit() == []


def test_submit_needs_a_signed_in_consumer(consumer_api: Api, merchant_api: Api, acme) -> None:
    q = create(merchant_api, acme)
    result = consumer_api.op(
        "SubmitResponse", {"link": q["link"], "answers": "{}", "idempotencyKey": "k"}
    )["data"]["submitResponse"]
    assert [e["code"] for e in result["errors"]] == ["UNAUTHENTICATED"]


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
        ({"visit": "no", "liked": ["tea"], "stars": 4}, "HIDDEN_QUESTION_ANSWERED", "liked"),
        ({"visit": "yes", "stars": 4, "note": "far too long text"}, "TEXT_TOO_LONG", "note"),
        ({"visit": "yes", "stars": 4, "birthday": "31/12/1990"}, "INVALID_DATE", "birthday"),
        ({"visit": "yes", "stars": "four"}, "INVALID_ANSWER", "stars"),
        ({"visit": "yes", "stars": 4, "colour": "red"}, "UNKNOWN_QUESTION", "colour"),
    ],
)
def test_each_invalid_answer_returns_its_own_error_and_stores_nothing(
    consumer_api: Api,
    merchant_api: Api,
    acme: Tenants,
    new_phone,
    answers: dict,
    code: str,
    field: str,
) -> None:
    q = create(merchant_api, acme)
    consumer = consumer_for(new_phone)
    result = submit(consumer_api, consumer, q["link"], answers)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]
    assert result["response"] is None
    with tenant_context(acme.acme):
        assert not Response.objects.filter(campaign=campaign_of(acme, q)).exists()
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 0


def test_every_problem_is_reported_at_once(
    consumer_api: Api, merchant_api: Api, acme: Tenants, new_phone
) -> None:
    q = create(merchant_api, acme)
    bad = {"visit": "no", "liked": ["tea"], "cups": -1}
    result = submit(consumer_api, consumer_for(new_phone), q["link"], bad)
    assert sorted((e["code"], e["field"]) for e in result["errors"]) == [
        ("HIDDEN_QUESTION_ANSWERED", "liked"),
        ("OUT_OF_RANGE", "cups"),
        ("REQUIRED", "stars"),
    ]


def test_budget_exhausted_after_the_cap(
    consumer_api: Api, merchant_api: Api, acme: Tenants, new_phone
) -> None:
    q = create(merchant_api, acme, cap=2, points=7)
    paid = [submit(consumer_api, consumer_for(new_phone), q["link"], GOOD) for _ in range(2)]
    assert [p["balance"] for p in paid] == [7, 7]
    late = consumer_for(new_phone)
    refused = submit(consumer_api, late, q["link"], GOOD)
    assert [e["code"] for e in refused["errors"]] == ["BUDGET_EXHAUSTED"]
    assert ledger.balance_of(ledger.wallet(late.pk)) == 0
    form = consumer_api.op("Questionnaire", {"link": q["link"]}, token=access_token(late))
    assert form["data"]["questionnaire"]["state"] in {"BUDGET_EXHAUSTED", "ENDED"}
    listed = staff(merchant_api, acme.acme_viewer, "Questionnaires", {"first": 50})
    mine = next(
        e["node"] for e in listed["data"]["questionnaires"]["edges"] if e["node"]["id"] == q["id"]
    )
    assert (mine["status"], mine["budgetExhausted"], mine["rewardedResponses"]) == (
        "ENDED",
        True,
        2,
    )
    assert audit() == []


# --- Merchant: results, text answers, responses ------------------------------------------

FIXTURE = [
    {"visit": "yes", "liked": ["tea", "cake"], "stars": 5, "nps": 10, "cups": 2},
    {"visit": "yes", "liked": ["tea"], "stars": 4, "nps": 9, "cups": 4, "note": "nice"},
    {"visit": "no", "stars": 2, "nps": 3, "note": "slow"},
    {"visit": "yes", "liked": ["staff"], "stars": 4, "nps": 7, "cups": 9, "note": "ok"},
]


def answered(consumer_api: Api, merchant_api: Api, t: Tenants, new_phone) -> tuple[dict, list]:
    q = create(merchant_api, t, cap=10)
    people = []
    for i, answers in enumerate(FIXTURE):
        person = consumer_for(new_phone)
        consumer_api.op("Questionnaire", {"link": q["link"]}, token=access_token(person))
        assert submit(consumer_api, person, q["link"], answers, key=f"k{i}")["errors"] == []
        people.append(person)
    consumer_api.op(
        "Questionnaire", {"link": q["link"]}, token=access_token(consumer_for(new_phone))
    )
    return q, people


def test_results_match_the_service_and_the_hand_computed_figures(
    consumer_api: Api, merchant_api: Api, acme: Tenants, new_phone
) -> None:
    q, _people = answered(consumer_api, merchant_api, acme, new_phone)
    data = staff(merchant_api, acme.acme_viewer, "QuestionnaireResults", {"id": q["id"]})
    node = data["data"]["node"]
    by_id = {r["questionId"]: r for r in node["results"]}
    visit = {o["id"]: (o["count"], o["percent"]) for o in by_id["visit"]["options"]}
    assert visit == {"yes": (3, 75.0), "no": (1, 25.0)}
    liked = {o["id"]: o["count"] for o in by_id["liked"]["options"]}
    assert liked == {"tea": 2, "cake": 1, "staff": 1} and by_id["liked"]["answered"] == 3
    stars = {d["id"]: d["count"] for d in by_id["stars"]["distribution"]}
    assert stars == {"1": 0, "2": 1, "3": 0, "4": 2, "5": 1} and by_id["stars"]["mean"] == 3.75
    assert by_id["nps"]["nps"] == 25.0 and len(by_id["nps"]["distribution"]) == 11
    cups = by_id["cups"]
    assert (cups["min"], cups["max"], cups["mean"], cups["median"]) == (2, 9, 5.0, 4.0)
    assert node["completion"] == {"opened": 5, "submitted": 4, "rate": 80.0}
    assert sum(d["responses"] for d in node["responsesOverTime"]) == 4
    with tenant_context(acme.acme):
        service = {r.question["id"]: r for r in results.results(campaign_of(acme, q))}
    for qid, result in by_id.items():
        assert result["answered"] == service[qid].answered
        assert result["mean"] == service[qid].mean


def test_text_answers_page_and_responses_show_masked_phones_and_versions(
    consumer_api: Api, merchant_api: Api, acme: Tenants, new_phone
) -> None:
    q, people = answered(consumer_api, merchant_api, acme, new_phone)
    first = staff(
        merchant_api,
        acme.acme_viewer,
        "QuestionnaireTextAnswers",
        {"id": q["id"], "questionId": "note", "first": 2},
    )["data"]["node"]["textAnswers"]
    assert [e["node"]["text"] for e in first["edges"]] == ["ok", "slow"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = staff(
        merchant_api,
        acme.acme_viewer,
        "QuestionnaireTextAnswers",
        {"id": q["id"], "questionId": "note", "first": 2, "after": first["pageInfo"]["endCursor"]},
    )["data"]["node"]["textAnswers"]
    assert [e["node"]["text"] for e in rest["edges"]] == ["nice"]
    # Edit after responses: a new version; old responses keep theirs.
    edited = [dict(x) for x in QUESTIONS if x["id"] != "cups"]
    edit = staff(
        merchant_api,
        acme.acme_operator,
        "EditQuestions",
        {"id": q["id"], "questions": json.dumps(edited)},
    )["data"]["editQuestions"]
    assert edit["errors"] == [] and edit["questionnaire"]["version"] == 2
    late = consumer_for(new_phone)
    assert (
        submit(consumer_api, late, q["link"], {"visit": "no", "stars": 1})["response"]["version"]
        == 2
    )
    responses = staff(
        merchant_api, acme.acme_viewer, "QuestionnaireResponses", {"id": q["id"], "first": 10}
    )
    nodes = [e["node"] for e in responses["data"]["node"]["responses"]["edges"]]
    assert [n["version"] for n in nodes] == [2, 1, 1, 1, 1]
    assert [n["maskedPhone"] for n in nodes] == [p.masked_phone for p in [late, *reversed(people)]]
    text = json.dumps(responses)
    for person in [late, *people]:
        assert person.phone not in text and "****" in person.masked_phone
    assert json.loads(nodes[-1]["answers"]) == FIXTURE[0]


def test_responses_cost_a_constant_number_of_queries(
    consumer_api: Api, merchant_api: Api, acme: Tenants, new_phone
) -> None:
    q = create(merchant_api, acme, cap=20)
    counts = []
    for size in (2, 6):
        while True:
            with tenant_context(acme.acme):
                have = Response.objects.filter(campaign=campaign_of(acme, q)).count()
            if have >= size:
                break
            submit(consumer_api, consumer_for(new_phone), q["link"], GOOD)
        with CaptureQueriesContext(connection) as queries:
            page = staff(
                merchant_api,
                acme.acme_viewer,
                "QuestionnaireResponses",
                {"id": q["id"], "first": 50},
            )
        assert len(page["data"]["node"]["responses"]["edges"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_another_merchant_cannot_see_or_edit_the_questionnaire(
    merchant_api: Api, acme: Tenants
) -> None:
    q = create(merchant_api, acme)
    as_beta = staff(
        merchant_api, acme.beta_owner, "QuestionnaireResults", {"id": q["id"]}, merchant="beta"
    )
    assert as_beta["data"]["node"] is None
    # The same primary key under beta's id names nothing acme can see.
    pk = from_global_id(q["id"]).id.split(":")[1]
    foreign = to_global_id("Questionnaire", f"{acme.beta.pk}:{pk}")
    as_acme = staff(merchant_api, acme.acme_owner, "QuestionnaireResults", {"id": foreign})
    assert as_acme["data"]["node"] is None
    edit = staff(
        merchant_api,
        acme.beta_owner,
        "EditQuestions",
        {"id": q["id"], "questions": json.dumps(QUESTIONS[:1])},
        merchant="beta",
    )["data"]["editQuestions"]
    assert [e["code"] for e in edit["errors"]] == ["NOT_FOUND"]
    listed = staff(merchant_api, acme.beta_owner, "Questionnaires", {"first": 50}, merchant="beta")
    assert q["id"] not in json.dumps(listed)


# --- Exports and poster ---------------------------------------------------------------


def test_csv_and_xlsx_exports_hold_every_response(
    consumer_api: Api, merchant_api: Api, acme: Tenants, new_phone, client: Client
) -> None:
    q, people = answered(consumer_api, merchant_api, acme, new_phone)
    staff(
        merchant_api,
        acme.acme_operator,
        "EditQuestions",
        {
            "id": q["id"],
            "questions": json.dumps(
                [*QUESTIONS, {"id": "extra", "type": "short_text", "text": "More?"}]
            ),
        },
    )
    submit(
        consumer_api, consumer_for(new_phone), q["link"], {"visit": "no", "stars": 1, "extra": "x"}
    )
    header = ["submitted_at", "masked_phone", "version", *[x["id"] for x in QUESTIONS], "extra"]
    urls = {}
    for fmt in ("CSV", "XLSX"):
        payload = staff(
            merchant_api,
            acme.acme_operator,
            "RequestQuestionnaireExport",
            {"id": q["id"], "format": fmt},
        )["data"]["requestQuestionnaireExport"]
        assert payload["errors"] == []
        urls[fmt] = payload["downloadUrl"]
    download = client.get(urls["CSV"])
    assert download.status_code == 200
    table = list(csv.reader(io.StringIO(streamed_body(download).decode("utf-8-sig"))))
    assert table[0] == header and len(table) == 1 + 5
    assert [row[1] for row in table[1:5]] == [p.masked_phone for p in people]
    assert table[1][3:5] == ["yes", "tea;cake"] and table[5][2] == "2" and table[5][-1] == "x"
    download = client.get(urls["XLSX"])
    assert download.status_code == 200
    sheet = load_workbook(io.BytesIO(streamed_body(download))).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == header and len(values) == 6
    assert [row[1] for row in values[1:5]] == [p.masked_phone for p in people]
    # A link cannot be altered.
    assert (
        client.get(
            urls["CSV"].replace("/questionnaire-exports/", "/questionnaire-exports/x")
        ).status_code
        == 403
    )


def test_export_of_a_missing_file_answers_202(acme: Tenants, client: Client) -> None:
    from django.core import signing

    token = signing.dumps(
        {"m": acme.acme.pk, "c": 1, "f": "questionnaire-exports/acme/1-none.csv"},
        salt=questionnaire_exports.SALT,
    )
    with tenant_context(acme.acme):
        exists = Campaign.objects.filter(pk=1).exists()
    assert client.get(f"/questionnaire-exports/{token}/").status_code in (
        (202,) if exists else (404,)
    )


def test_poster_is_a_pdf(merchant_api: Api, acme: Tenants, client: Client) -> None:
    q = create(merchant_api, acme)
    poster = client.get(q["posterUrl"])
    assert poster.status_code == 200 and poster["Content-Type"] == "application/pdf"
    assert streamed_body(poster).startswith(b"%PDF")


# --- The phone page -------------------------------------------------------------------


def test_page_embeds_its_operations(merchant_api: Api, acme: Tenants, client: Client) -> None:
    q = create(merchant_api, acme)
    page = client.get(f"/q/{q['link']}?lang=en")
    assert page.status_code == 200
    html = page.content.decode()
    for name in PAGE_OPERATIONS:
        document = (OPERATIONS_DIR / "consumer" / f"{name}.graphql").read_text()
        assert json.dumps(document)[1:40] in html.replace("\\u0027", "'")
    assert "questionnaire.js" in html and q["link"] in html
    assert client.get("/q/ZZZZ-1").status_code == 404
    assert client.get(f"/q/{q['link'].split('-')[0]}-987654").status_code == 404
    parsed = parse_link(q["link"])
    assert parsed is not None and questionnaire_link(*parsed) == q["link"]
    assert client.get(f"/q/{q['link'].lower()}").status_code == 200  # typed in lower case


def test_a_consumer_sees_only_their_own_state(
    consumer_api: Api, merchant_api: Api, acme: Tenants, new_phone
) -> None:
    q = create(merchant_api, acme)
    alice, bob = consumer_for(new_phone), consumer_for(new_phone)
    assert submit(consumer_api, alice, q["link"], GOOD)["errors"] == []
    seen = consumer_api.op("Questionnaire", {"link": q["link"]}, token=access_token(bob))
    assert seen["data"]["questionnaire"]["state"] == "OPEN"
    assert alice.phone is not None and alice.phone not in json.dumps(seen)


def test_listing_questionnaires_costs_a_constant_number_of_queries(
    consumer_api: Api, merchant_api: Api, acme: Tenants, new_phone
) -> None:
    counts = []
    for _round in range(2):
        q = create(merchant_api, acme)
        submit(consumer_api, consumer_for(new_phone), q["link"], GOOD)
        with CaptureQueriesContext(connection) as queries:
            listed = staff(merchant_api, acme.acme_viewer, "Questionnaires", {"first": 100})
        edges = listed["data"]["questionnaires"]["edges"]
        assert edges[0]["node"]["rewardedResponses"] == 1
        counts.append((len(edges), len(queries)))
    assert counts[1][0] == counts[0][0] + 1
    assert counts[0][1] == counts[1][1]


def test_staff_signed_in_on_the_consumer_api_sees_the_public_view(
    consumer_api: Api, merchant_api: Api, acme: Tenants
) -> None:
    q = create(merchant_api, acme)
    seen = consumer_api.op(
        "Questionnaire", {"link": q["link"]}, token=access_token(acme.acme_owner)
    )
    assert seen["data"]["questionnaire"]["state"] == "OPEN"


def test_node_resolves_a_response_and_a_questionnaire_with_their_own_types(
    consumer_api: Api, merchant_api: Api, acme: Tenants, new_phone
) -> None:
    q = create(merchant_api, acme)
    submit(consumer_api, consumer_for(new_phone), q["link"], {**GOOD, "note": "hi"})
    listed = staff(merchant_api, acme.acme_viewer, "QuestionnaireResponses", {"id": q["id"]})
    response_id = listed["data"]["node"]["responses"]["edges"][0]["node"]["id"]
    document = "query($id: ID!) { node(id: $id) { __typename id } }"
    for typename, gid in [("QuestionnaireResponse", response_id), ("Questionnaire", q["id"])]:
        found = merchant_api.query(
            document, {"id": gid}, token=access_token(acme.acme_viewer), merchant="acme"
        )
        assert found["data"]["node"] == {"__typename": typename, "id": gid}
        foreign = merchant_api.query(
            document, {"id": gid}, token=access_token(acme.beta_owner), merchant="beta"
        )
        assert foreign["data"]["node"] is None
    texts = staff(
        merchant_api,
        acme.acme_viewer,
        "QuestionnaireTextAnswers",
        {"id": q["id"], "questionId": "note"},
    )["data"]["node"]["textAnswers"]["edges"]
    assert [e["node"]["text"] for e in texts] == ["hi"]
