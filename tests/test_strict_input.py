"""Every argument of both schemas refuses the bad values of its type, and writes nothing.

The arguments are read from the schemas themselves (``api.schema``), so a field added
later is swept without anyone listing it: every argument of every root field (queries
and mutations), and every argument of a nested field the query root reaches without
required arguments (``wallet { expiringSoon(days:) }``,
``campaigns { edges { node { batches(first:) } } }``, ...). For each argument the
sweep sends, as a variable beside plain valid values for the required others, the bad
values of its type:

- ``Int``/``BigInt``: ``"1e3"``, ``"5"``, ``1.5``, ``true``, beyond the scalar, and one
  below and one above the range its description states (``api.inputs``);
- ``String``: NUL, BEL, ESC ``[31m``, DEL, a C1 control, U+202E and U+2066, a newline
  where the description does not say "several lines", and one character over its
  stated (or default) maximum length;
- ``JSONString``: ``\\u0000`` in a value and in a key, a bidi override, text that is
  not JSON, a number instead of a string;
- ``DateTime``/``Date``: text that is no date, a 13th month, a 30th of February;
- ``Boolean``/enums/``ID``: a wrong type or an unknown value;
- a range whose end comes before its start (``since``/``until``, ``from``/``to``, ...).

Each request must answer no 5xx, a coded error that names the argument (its
``extensions.field``, or ``$swept`` in a variable's coercion error; NUL is refused
at the edge with ``BAD_REQUEST``), every other error coded, and the row counts of
every table of the public schema and of every merchant schema unchanged.
``test_the_sweep_catches_a_lax_field`` plants a lax field and checks that the sweep
reports it.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from django import forms
from django.utils import timezone

from accounts.models import User
from api import inputs
from api.errors import KNOWN_CODES
from api.inputs import RANGE_PAIRS, argument_rule, type_refusal_codes
from api.schema import consumer_schema, merchant_schema
from core.db import connection
from core.errors import DomainError
from core.text import TextKind, clean_json_text, clean_text, refused_character
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
    is_non_null_type,
)
from points import ledger
from redemption.admin import CategoryForm, ConsignmentForm, ShipForm
from tenants.admin import RejectForm, TopUpForm
from tenants.models import Merchant
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants
from tests.test_isolation import _acme_campaign, _acme_questionnaire

pytestmark = pytest.mark.django_db

TRANSPORT_CODES = {"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST"}
CLEAR_CODES = (KNOWN_CODES | TRANSPORT_CODES) - {"INTERNAL_SERVER_ERROR"}
# What a refusal of the swept value may be: the argument's rule (INVALID_INPUT), the
# connection arguments' bounds (GRAPHQL_VALIDATION_FAILED), NUL at the edge (BAD_REQUEST).
REFUSALS = {"INVALID_INPUT", "GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST"}
PAGING = {"first": (0, 100), "last": (0, 100), "offset": (0, 2**31 - 1)}
# Not swept: signOut would revoke the token the next request needs; it takes no argument.
NOT_SWEPT: set[str] = set()


@dataclass
class Target:
    """One field to call: the path from its root to it, and its arguments."""

    operation: str  # "query" or "mutation"
    path: list[str]  # root field ... the field itself
    field: GraphQLField

    @property
    def label(self) -> str:
        return ".".join(self.path)


@dataclass
class Case:
    target: Target
    argument: str  # the argument the case is about (the error must name it)
    values: dict[str, Any]  # argument name -> value (bad or baseline)
    types: dict[str, str]  # argument name -> GraphQL type of its variable
    refusals: set[str] = field(default_factory=lambda: REFUSALS)

    @property
    def label(self) -> str:
        return f"{self.target.label}({self.argument}={self.values[self.argument]!r:.60})"


def _reachable(schema: GraphQLSchema) -> Iterator[Target]:
    """Root fields with arguments, and nested fields the query root reaches without
    required arguments (shortest path first; each object type is entered once)."""
    for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for name, root_field in root.fields.items():
            if root_field.args and name not in NOT_SWEPT:
                yield Target(operation, [name], root_field)
    query = schema.query_type
    assert query is not None
    seen = {query.name}
    queue: deque[tuple[GraphQLObjectType, list[str]]] = deque([(query, [])])
    while queue:
        parent, path = queue.popleft()
        for name, child in parent.fields.items():
            if path and child.args:
                yield Target("query", [*path, name], child)
            named = get_named_type(child.type)
            if (
                isinstance(named, GraphQLObjectType)
                and named.name not in seen
                and not any(is_non_null_type(a.type) for a in child.args.values())
                and not name.startswith("__")
            ):
                seen.add(named.name)
                queue.append((named, [*path, name]))


def _baseline(name: str, argument: GraphQLArgument) -> Any:
    """A value that passes the argument's own rule (the refusal must be the swept one)."""
    named = get_named_type(argument.type)
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    rule = argument_rule(name, argument)
    if named.name in ("Int", "BigInt"):
        if rule is not None and rule.low is not None:
            return rule.low
        return PAGING.get(name, (1, 1))[0] or 1
    return {
        "String": "x",
        "ID": "x",
        "Boolean": False,
        "DateTime": timezone.now().isoformat(),
        "Date": date.today().isoformat(),
        "JSONString": "{}",
    }[named.name]


def _bad_values(name: str, argument: GraphQLArgument) -> list[tuple[Any, set[str]]]:
    named = get_named_type(argument.type)
    rule = argument_rule(name, argument)
    coerce = {"INVALID_INPUT"}
    if isinstance(named, GraphQLEnumType):
        return [("NOT_A_VALUE", coerce), (1, coerce)]
    if named.name in ("Int", "BigInt"):
        largest = 2**31 if named.name == "Int" else 2**63
        bad: list[tuple[Any, set[str]]] = [
            ("1e3", coerce),
            ("5", coerce),
            (1.5, coerce),
            (True, coerce),
            (largest, coerce),
            (-largest - 1, coerce),
        ]
        low, high = (rule.low, rule.high) if rule and rule.low is not None else (None, None)
        if low is None and name in PAGING:
            low, high = PAGING[name]
        assert low is not None and high is not None, (
            f"{name}: an integer argument states its range ('<low> to <high>')"
        )
        bad += [(low - 1, REFUSALS), (high + 1, REFUSALS)] if high < largest else []
        return bad
    if named.name == "Float":
        assert rule is not None and rule.low is not None and rule.high is not None, (
            f"{name}: a Float argument states its range ('<low> to <high>')"
        )
        return [
            ("5", coerce),
            ("1e3", coerce),
            (True, coerce),
            (rule.low - 1, REFUSALS),
            (rule.high + 0.5, REFUSALS),
        ]
    if named.name == "String":
        assert rule is not None
        assert rule.max_length <= 5000, f"{name}: at most 5,000 characters"
        bad = [
            ("a\x00b", {"BAD_REQUEST"}),
            ("a\x07b", REFUSALS),
            ("a\x1b[31mb", REFUSALS),
            ("a\x7fb", REFUSALS),
            ("a\x85b", REFUSALS),
            ("a\u202eb", REFUSALS),
            ("a\u2066b", REFUSALS),
            ("é" * rule.max_length + "x", REFUSALS),
        ]
        if rule.kind is TextKind.SINGLE_LINE:
            bad.append(("a\nb", REFUSALS))
        return bad
    if named.name == "JSONString":
        return [
            ('{"q": "a\\u0000b"}', coerce),
            ('{"a\\u0000": 1}', coerce),
            ('["a\\u202eb"]', coerce),
            ("not json", coerce),
            (5, coerce),
        ]
    if named.name == "DateTime":
        return [("not a date", coerce), ("2026-13-01T00:00:00", coerce), (5, coerce)]
    if named.name == "Date":
        return [("2026-02-30", coerce), ("x", coerce), (5, coerce)]
    if named.name == "Boolean":
        return [("true", coerce), (1, coerce)]
    if named.name == "ID":
        return [("a\x00b", {"BAD_REQUEST"}), (1.5, coerce), (True, coerce)]
    raise AssertionError(f"{name}: no bad values for the scalar {named.name}")


def _type(argument: GraphQLArgument) -> str:
    return str(argument.type)


def cases(schema: GraphQLSchema) -> Iterator[Case]:
    for target in _reachable(schema):
        arguments = target.field.args
        required = {
            name: _baseline(name, argument)
            for name, argument in arguments.items()
            if isinstance(argument.type, GraphQLNonNull)
        }
        types = {name: _type(argument) for name, argument in arguments.items()}
        declared = _declared_codes(schema, target)
        by_service = _limits_checked_by_service(target)
        for name, argument in arguments.items():
            assert isinstance(get_named_type(argument.type), GraphQLScalarType | GraphQLEnumType)
            for value, refusals in _bad_values(name, argument):
                if name in declared and refusals != {"BAD_REQUEST"}:
                    refusals = refusals | {declared[name]}
                over_limit = isinstance(value, int) or len(str(value)) > 50  # no character
                if name in by_service and refusals == REFUSALS and over_limit:
                    # Its length or range is the service's to report, with its own code.
                    refusals = REFUSALS | CLEAR_CODES
                yield Case(target, name, {**required, name: value}, types, refusals)
        for start, end in RANGE_PAIRS:
            if start in arguments and end in arguments:
                first = _baseline(start, arguments[start])
                later, earlier = _later(first), first
                refusals = REFUSALS | ({declared[end]} if end in declared else set())
                values = {**required, start: later, end: earlier}
                yield Case(target, end, values, types, refusals)


def _limits_checked_by_service(target: Target) -> tuple[str, ...]:
    payload = get_named_type(target.field.type)
    mutation = getattr(payload, "graphene_type", None)
    return (
        getattr(mutation, "limits_checked_by_service", ()) if target.operation == "mutation" else ()
    )


def _declared_codes(schema: GraphQLSchema, target: Target) -> dict[str, str]:
    """The domain codes declared for the target's arguments (api.inputs): a mutation's
    ``refusal_codes``, or its parent type's ``refusal_codes[field]``."""
    if target.operation == "mutation":
        payload = get_named_type(target.field.type)
        codes = getattr(getattr(payload, "graphene_type", None), "refusal_codes", {})
    else:
        parent = schema.query_type
        for name in target.path[:-1]:
            assert isinstance(parent, GraphQLObjectType)  # the path runs through object types
            parent = get_named_type(parent.fields[name].type)
        codes = type_refusal_codes(getattr(parent, "graphene_type", None), target.path[-1])
    return {name: str(code) for name, code in codes.items()}


def _later(value: Any) -> Any:
    if isinstance(value, int):
        return value + 1
    if len(value) == 10:
        return (date.fromisoformat(value) + timedelta(days=1)).isoformat()
    return (timezone.now() + timedelta(days=1)).isoformat()


def document(case: Case) -> str:
    names = list(case.values)
    declared = ", ".join(f"${n}: {case.types[n]}" for n in names)
    call = ", ".join(f"{n}: ${n}" for n in names)
    leaf = case.target.field
    leaf_type = get_named_type(leaf.type)
    if isinstance(leaf_type, GraphQLScalarType | GraphQLEnumType):
        selection = ""
    elif isinstance(leaf_type, GraphQLObjectType) and "errors" in leaf_type.fields:
        selection = " { errors { field code message } }"  # a mutation's payload
    else:
        selection = " { __typename }"
    inner = f"{case.target.path[-1]}({call}){selection}"
    for name in reversed(case.target.path[:-1]):
        inner = f"{name} {{ {inner} }}"
    # The variables are named after the arguments, so coercion errors name them too.
    return f"{case.target.operation} Sweep({declared}) {{ {inner} }}"


def row_counts() -> dict[str, int]:
    """Rows of every table of the public schema and of every merchant schema."""
    connection.set_schema_to_public()
    schemas = ["public", *Merchant.objects.values_list("schema_name", flat=True)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema = ANY(%s)",
            [schemas],
        )
        # The audit log records every merchant mutation, refused ones too (tenants.audit):
        # that row is the record of the attempt, not something the input made.
        tables = [(s, t) for s, t in cursor.fetchall() if t != "tenants_auditevent"]
        cursor.execute(
            " UNION ALL ".join(f'SELECT \'{s}.{t}\', count(*) FROM "{s}"."{t}"' for s, t in tables)
        )
        return dict(cursor.fetchall())


def problems_of(api: Api, case: Case, token: str, merchant: str | None) -> list[str]:
    """What is wrong with the answer to one case (nothing when it was refused well)."""
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if merchant:
        headers["HTTP_X_MERCHANT"] = merchant
    response = api.client.post(
        api.path,
        data=json.dumps({"query": document(case), "variables": case.values}),
        content_type="application/json",
        **headers,
    )
    if response.status_code >= 500:
        return [f"{case.label}: HTTP {response.status_code}"]
    body = response.json()
    errors = list(body.get("errors") or [])
    payload = (body.get("data") or {}).get(case.target.path[0])
    if case.target.operation == "mutation" and payload:
        # A mutation's refusal is payload data (errors { field code message }).
        errors += [
            {**e, "extensions": {"code": e["code"], "field": e["field"]}} for e in payload["errors"]
        ]
    found = []
    for error in errors:
        extensions = error.get("extensions") or {}
        if extensions.get("code") not in CLEAR_CODES:
            found.append(f"{case.label}: uncoded or internal error {error}")
    refused = any(
        (error.get("extensions") or {}).get("code") in case.refusals
        and (
            (error.get("extensions") or {}).get("field") == case.argument
            or f"${case.argument}" in error["message"]
            or (error["extensions"]["code"] == "BAD_REQUEST" and response.status_code == 400)
        )
        for error in errors
    )
    if not refused:
        found.append(f"{case.label}: not refused: {body}")
    return found


def sweep(
    api: Api, schema: GraphQLSchema, token: str, merchant: str | None, only: str | None = None
) -> tuple[int, list[str]]:
    """Send every case (of the fields whose label starts with ``only``); the number sent
    and the problems found, with a change of the row counts after each argument."""
    sent, problems = 0, []
    before = row_counts()
    for case in cases(schema):
        if only is not None and case.target.label != only:
            continue
        problems += problems_of(api, case, token, merchant)
        sent += 1
        after = row_counts()
        if after != before:
            changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
            problems.append(f"{case.label}: rows written {changed}")
            before = after
    return sent, problems


@pytest.fixture
def swept_data(tenants: Tenants, consumer: User) -> None:
    """Objects for the nested fields to run on: a campaign with a batch, a questionnaire,
    the consumer's wallet (made on first sight: a write of ``wallet``, not of its
    arguments)."""
    ledger.wallet(consumer.pk)
    _acme_campaign(tenants, "active", batch=True)
    _acme_questionnaire(tenants)
    connection.set_schema_to_public()


def test_every_consumer_argument_refuses_bad_values(
    consumer_api: Api, consumer: User, swept_data: None
) -> None:
    sent, problems = sweep(
        consumer_api, consumer_schema.graphql_schema, access_token(consumer), None
    )
    assert problems == [], "\n".join(problems)
    assert sent > 200


def test_every_merchant_argument_refuses_bad_values(
    merchant_api: Api, tenants: Tenants, swept_data: None
) -> None:
    sent, problems = sweep(
        merchant_api, merchant_schema.graphql_schema, access_token(tenants.acme_owner), "acme"
    )
    assert problems == [], "\n".join(problems)
    assert sent > 800


def test_the_sweep_reaches_nested_fields() -> None:
    labels = {target.label for target in _reachable(consumer_schema.graphql_schema)}
    assert {"wallet.expiringSoon", "wallet.history"} <= labels
    labels = {target.label for target in _reachable(merchant_schema.graphql_schema)}
    assert {"campaigns.edges.node.batches", "dashboard.topCampaigns"} <= labels


def test_the_sweep_catches_a_lax_field(
    merchant_api: Api, tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two planted faults: the campaign name read as unbounded multi-line text, and
    graphene's lax BigInt (``int(float(value))``) back on ``pointsPerCode``."""
    schema = merchant_schema.graphql_schema
    real_rule: Callable[[str, GraphQLArgument], Any] = argument_rule

    def lax_name(name: str, argument: GraphQLArgument) -> Any:
        rule = real_rule(name, argument)
        if name == "name" and rule is not None:
            return inputs.ArgumentRule(name, "String", kind=TextKind.MULTI_LINE, max_length=10**6)
        return rule

    monkeypatch.setattr(inputs, "argument_rule", lax_name)
    monkeypatch.setattr(inputs, "_rules", {})
    monkeypatch.setattr(schema.type_map["BigInt"], "parse_value", lambda v: int(float(v)))
    token = access_token(tenants.acme_owner)

    _sent, problems = sweep(merchant_api, schema, token, "acme", only="createScanCampaign")
    # Read as multi-line text, a name may hold a newline (any length too, but the
    # service's own check still refuses a name over 200 characters); the controls
    # that multi-line text refuses too are still refused.
    assert any("createScanCampaign(name='a\\nb'): rows written" in p for p in problems)
    assert not any("name='a\\x07b'" in p for p in problems)

    _sent, problems = sweep(merchant_api, schema, token, "acme", only="createCodeBatch")
    assert any("pointsPerCode='1e3'" in p and "not refused" in p for p in problems)
    assert any("pointsPerCode=1.5" in p and "not refused" in p for p in problems)


# --- The classes of issue 16, one request each, and the text rules themselves ---------

CREATE_CAMPAIGN = """
mutation($name: String!, $description: String) {
  createScanCampaign(name: $name, description: $description) {
    campaign { name description } errors { field code }
  }
}
"""


def _owner(api: Api, tenants: Tenants, document: str, variables: dict[str, Any]) -> dict:
    return api.query(
        document,
        variables,
        token=access_token(tenants.acme_owner),
        merchant="acme",
        expect_status=None,
    )


def test_an_escaped_nul_in_json_is_refused_with_a_code(consumer_api: Api, consumer: User) -> None:
    result = consumer_api.query(
        'mutation($a: JSONString!) { submitResponse(link: "x", answers: $a, '
        'idempotencyKey: "k") { errors { code } } }',
        {"a": '{"q1": "a\\u0000b"}'},
        token=access_token(consumer),
        expect_status=None,
    )
    assert [e["extensions"]["code"] for e in result["errors"]] == ["INVALID_INPUT"]


@pytest.mark.parametrize("points", ["1e3", 1.5, "5", 2**63])
def test_a_bigint_takes_whole_numbers_only(
    merchant_api: Api, tenants: Tenants, points: Any
) -> None:
    result = _owner(
        merchant_api,
        tenants,
        'mutation($p: BigInt!) { createCodeBatch(campaignId: "x", size: 1, '
        "pointsPerCode: $p) { errors { code } } }",
        {"p": points},
    )
    assert [e["extensions"]["code"] for e in result["errors"]] == ["INVALID_INPUT"]
    assert "$p" in result["errors"][0]["message"]


@pytest.mark.parametrize(
    ("declared", "variables"),
    [
        ("$d: Int", {"d": 2**31}),  # above Int
        ("$d: Int", {"d": "5"}),  # a string for an Int
        ("$d: Int!", {}),  # a required variable missing
    ],
)
def test_variable_errors_carry_a_code(
    consumer_api: Api, consumer: User, declared: str, variables: dict
) -> None:
    result = consumer_api.query(
        f"query({declared}) {{ wallet {{ expiringSoon(days: $d) }} }}",
        variables,
        token=access_token(consumer),
        expect_status=None,
    )
    assert [e["extensions"]["code"] for e in result["errors"]] == ["INVALID_INPUT"]


def test_bad_datetime_and_unknown_operation_carry_a_code(
    merchant_api: Api, tenants: Tenants
) -> None:
    result = _owner(
        merchant_api,
        tenants,
        "query($s: DateTime) { auditLog(since: $s) { edges { node { id } } } }",
        {"s": "yesterday"},
    )
    assert [e["extensions"]["code"] for e in result["errors"]] == ["INVALID_INPUT"]
    response = merchant_api.client.post(
        merchant_api.path,
        data=json.dumps({"query": "query A { myRole } query B { myRole }", "operationName": "C"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token(tenants.acme_owner)}",
        HTTP_X_MERCHANT="acme",
    )
    codes = [e["extensions"]["code"] for e in response.json()["errors"]]
    assert codes == ["GRAPHQL_VALIDATION_FAILED"]


def test_variables_that_are_not_an_object_are_a_bad_request(
    consumer_api: Api, consumer: User
) -> None:
    response = consumer_api.client.post(
        consumer_api.path,
        data=json.dumps({"query": "query { wallet { balance } }", "variables": [1]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token(consumer)}",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_an_audit_window_that_ends_before_it_starts_is_refused(
    merchant_api: Api, tenants: Tenants
) -> None:
    now = timezone.now()
    result = _owner(
        merchant_api,
        tenants,
        "query($s: DateTime, $u: DateTime) "
        "{ auditLog(since: $s, until: $u) { edges { node { id } } } }",
        {"s": now.isoformat(), "u": (now - timedelta(days=1)).isoformat()},
    )
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in result["errors"]] == [
        ("INVALID_INPUT", "until")
    ]


def test_expiring_soon_refuses_negative_days(consumer_api: Api, consumer: User) -> None:
    result = consumer_api.query(
        "query { wallet { expiringSoon(days: -1) } }",
        token=access_token(consumer),
        expect_status=None,
    )
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in result["errors"]] == [
        ("INVALID_INPUT", "days")
    ]


@pytest.mark.parametrize(
    "name", ["Tea\x07", "\x1b[31mRed", "Tea\x7f", "\u202eaet", "Tea\u2066", "Tea\nTime"]
)
def test_a_campaign_name_with_a_control_or_bidi_character_is_refused(
    merchant_api: Api, tenants: Tenants, name: str
) -> None:
    result = _owner(merchant_api, tenants, CREATE_CAMPAIGN, {"name": name})
    payload = result["data"]["createScanCampaign"]
    assert payload["campaign"] is None
    # The code clients already know for a bad campaign name (refusal_codes).
    assert payload["errors"] == [{"field": "name", "code": "INVALID_NAME"}]


def test_text_is_stored_in_nfc_and_keeps_emoji_and_line_breaks(
    merchant_api: Api, tenants: Tenants
) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467 \u2764\ufe0f"  # ZWJ, VS16
    result = _owner(
        merchant_api,
        tenants,
        CREATE_CAMPAIGN,
        {"name": f"Cafe\u0301 {family}", "description": "One\r\nTwo\tthree"},
    )
    campaign = result["data"]["createScanCampaign"]["campaign"]
    assert campaign == {"name": f"Caf\u00e9 {family}", "description": "One\nTwo\tthree"}


def test_a_description_over_its_limit_is_refused(merchant_api: Api, tenants: Tenants) -> None:
    result = _owner(
        merchant_api, tenants, CREATE_CAMPAIGN, {"name": "Tea", "description": "x" * 5001}
    )
    assert result["data"]["createScanCampaign"]["errors"] == [
        {"field": "description", "code": "INVALID_INPUT"}
    ]


@pytest.mark.parametrize(
    ("text", "kind", "allowed"),
    [
        ("a\tb", TextKind.SINGLE_LINE, False),
        ("a\tb", TextKind.MULTI_LINE, True),
        ("a\nb", TextKind.MULTI_LINE, True),
        ("a\x0bb", TextKind.MULTI_LINE, False),
        ("a\x9fb", TextKind.MULTI_LINE, False),
        ("a\u202ab", TextKind.MULTI_LINE, False),
        ("a\u2069b", TextKind.SINGLE_LINE, False),
        ("\u200f\u200e", TextKind.SINGLE_LINE, True),  # marks, not overrides
        ("\U0001f44d\U0001f3fd\ufe0f", TextKind.SINGLE_LINE, True),
    ],
)
def test_the_characters_each_kind_allows(text: str, kind: TextKind, allowed: bool) -> None:
    assert (refused_character(text, kind) is None) is allowed
    if not allowed:
        with pytest.raises(DomainError) as refused:
            clean_text(text, kind, 100, "f")
        assert (refused.value.code, refused.value.field) == ("INVALID_INPUT", "f")


def test_the_length_counts_the_normalised_text() -> None:
    assert clean_text("e\u0301" * 3, TextKind.SINGLE_LINE, 3) == "\u00e9" * 3
    with pytest.raises(DomainError):
        clean_text("x" * 4, TextKind.SINGLE_LINE, 3)


def test_json_text_is_cleaned_in_keys_and_values() -> None:
    assert clean_json_text({"e\u0301": ["a\r\nb", 1, None]}) == {"\u00e9": ["a\nb", 1, None]}
    for bad in ({"a\x00": 1}, ["\u202e"], {"k": {"k": "\x07"}}):
        with pytest.raises(DomainError):
            clean_json_text(bad)


def test_the_admin_applies_the_same_text_rules() -> None:
    """Text from elsewhere than the API (here the admin's category form) meets core.text."""
    form = CategoryForm(data={"name": "Tea\u202e", "slug": "tea-bidi", "position": 0})
    assert not form.is_valid()
    assert "name" in form.errors
    form = CategoryForm(data={"name": "Cafe\u0301", "slug": "cafe-nfc", "position": 0})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "Caf\u00e9"


def test_introspection_arguments_pass(consumer_api: Api, consumer: User, settings) -> None:
    settings.GRAPHQL_INTROSPECTION = True
    result = consumer_api.query(
        '{ __type(name: "Wallet") { fields(includeDeprecated: true) { name } } }',
        token=access_token(consumer),
        expect_status=None,
    )
    assert "errors" not in result, result


@pytest.mark.parametrize(
    ("form_class", "data", "field"),
    [
        (
            ConsignmentForm,
            {
                "receipt_reference": "R-1\u202e",
                "quantity": 1,
                "unit_value_minor": 100,
                "currency": "CNY",
                "rate": "100",
            },
            "receipt_reference",
        ),
        (ShipForm, {"carrier": "SF\x07", "tracking_number": "SF1"}, "carrier"),
        (ShipForm, {"carrier": "SF", "tracking_number": "SF\u20661"}, "tracking_number"),
        (
            TopUpForm,
            {"amount": "1.00", "currency": "CNY", "rate": "100", "payment_reference": "P\x1b[31m"},
            "payment_reference",
        ),
        (RejectForm, {"note": "No\u202e licence"}, "note"),
    ],
)
def test_every_admin_form_that_takes_text_applies_the_rules(
    form_class: type[forms.Form], data: dict[str, object], field: str
) -> None:
    form = form_class(data=data)
    assert not form.is_valid()
    assert list(form.errors) == [field]
    clean = {
        key: (
            value.replace("\u202e", "")
            .replace("\u2066", "")
            .replace("\x07", "")
            .replace("\x1b", "")
            if isinstance(value, str)
            else value
        )
        for key, value in data.items()
    }
    assert form_class(data=clean).is_valid()
