"""The GraphQL endpoints under abuse: limits, malformed requests, tokens, cookies, caching."""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from api import views
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db

MERCHANT = "/merchant/graphql/"
CONSUMER = "/graphql/"

# me → memberships → edges → node → merchant → slug: the deepest real path, 5 levels.
DEEP_QUERY = "query { me { memberships(first: 1) { edges { node { merchant { slug } } } } } }"


def _post(client: Client, body: Any, path: str = MERCHANT, **headers: Any):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **headers)


def _codes(result: dict) -> list[str]:
    return [error["extensions"]["code"] for error in result["errors"]]


def _messages(result: dict) -> str:
    return " ".join(error["message"] for error in result["errors"])


# --- Depth, aliases, cost ---------------------------------------------------------------


def test_query_deeper_than_the_limit_is_refused(merchant_api: Api, settings) -> None:
    settings.GRAPHQL_MAX_DEPTH = 5
    assert merchant_api.query(DEEP_QUERY) == {"data": {"me": None}}
    settings.GRAPHQL_MAX_DEPTH = 4
    result = merchant_api.query(DEEP_QUERY, expect_status=400)
    assert "data" not in result
    assert _codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "depth" in _messages(result)


def test_fragments_do_not_hide_depth(merchant_api: Api, settings) -> None:
    settings.GRAPHQL_MAX_DEPTH = 4
    document = """
        query { me { ...Memberships } }
        fragment Memberships on StaffUser { memberships(first: 1) { edges { ...Edge } } }
        fragment Edge on MyMembershipEdge { node { ... on MyMembership { merchant { slug } } } }
    """
    result = merchant_api.query(document, expect_status=400)
    assert "depth" in _messages(result)


def test_default_depth_limit_applies(merchant_api: Api, settings) -> None:
    assert settings.GRAPHQL_MAX_DEPTH == 10
    deep = "query { " + "me { " * 11 + "email" + " }" * 11 + " }"
    result = merchant_api.query(deep, expect_status=400)
    assert "exceeds maximum operation depth of 10" in _messages(result)


def test_too_many_aliases_are_refused(merchant_api: Api, settings) -> None:
    limit = settings.GRAPHQL_MAX_ALIASES
    at_limit = "query { " + " ".join(f"a{i}: __typename" for i in range(limit)) + " }"
    assert merchant_api.query(at_limit)["data"]["a0"] == "MerchantQuery"
    over = "query { " + " ".join(f"a{i}: __typename" for i in range(limit + 1)) + " }"
    result = merchant_api.query(over, expect_status=400)
    assert _codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "aliases" in _messages(result)


def test_aliases_inside_fragments_count_each_time_they_are_spread(
    merchant_api: Api, settings
) -> None:
    half = settings.GRAPHQL_MAX_ALIASES // 2 + 1
    fields = " ".join(f"a{i}: __typename" for i in range(half))
    document = (
        "query { ...A me { __typename } ... on MerchantQuery { ...A } }\n"
        f"fragment A on MerchantQuery {{ {fields} }}"
    )
    result = merchant_api.query(document, expect_status=400)
    assert "aliases" in _messages(result)


LEDGER_PAGE = "ledger(first: 100) { edges { node { id amount kind memo account reference } } }"


def test_costly_query_is_refused(merchant_api: Api, tenants: Tenants) -> None:
    # Each page of 100 ledger entries costs 1 + 100 * (1 + 1 + 6) = 801.
    token = access_token(tenants.acme_viewer)
    affordable = "query { " + " ".join(f"l{i}: {LEDGER_PAGE}" for i in range(6)) + " }"
    assert "errors" not in merchant_api.query(affordable, token=token, merchant="acme")
    costly = "query { " + " ".join(f"l{i}: {LEDGER_PAGE}" for i in range(7)) + " }"
    result = merchant_api.query(costly, token=token, merchant="acme", expect_status=400)
    assert _codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "cost" in _messages(result)


def test_page_size_from_a_variable_counts_as_the_largest_page(merchant_api: Api) -> None:
    page = "ledger(first: $n) { edges { node { id amount kind memo account reference } } }"
    document = "query($n: Int) { " + " ".join(f"l{i}: {page}" for i in range(7)) + " }"
    result = merchant_api.query(document, {"n": 1}, expect_status=400)
    assert "cost" in _messages(result)


def test_negative_page_sizes_do_not_buy_cost(merchant_api: Api) -> None:
    costly = " ".join(f"l{i}: {LEDGER_PAGE}" for i in range(7))
    refund = "staff(first: -100000) { edges { node { id email name role } } }"
    result = merchant_api.query(f"query {{ {costly} {refund} }}", expect_status=400)
    assert "cost" in _messages(result)


def test_lower_cost_limit_from_settings(merchant_api: Api, settings) -> None:
    settings.GRAPHQL_MAX_COST = 10
    document = "query { staff(first: 5) { edges { node { id email } } } }"
    result = merchant_api.query(document, expect_status=400)
    assert "Query cost 21 exceeds the limit of 10." in _messages(result)


@pytest.mark.timeout(30)
def test_nested_fragment_spreads_are_checked_in_linear_time(merchant_api: Api) -> None:
    """Each fragment spreads the previous one four times: 4**14 expansions if walked."""
    levels = 14
    fragments = ["fragment F0 on Merchant { slug }"]
    for i in range(1, levels + 1):
        fragments.append(f"fragment F{i} on Merchant {{ " + f"...F{i - 1} " * 4 + "}")
    document = f"query {{ merchant {{ ...F{levels} }} }}\n" + "\n".join(fragments)
    started = time.perf_counter()
    result = merchant_api.query(document, expect_status=400)
    assert time.perf_counter() - started < 2
    assert "cost" in _messages(result)


@pytest.mark.parametrize(
    "document",
    [
        "query { merchant { ...Missing } }",
        "query { merchant { ...A } } fragment A on Merchant { slug ...B }"
        " fragment B on Merchant { name ...A }",
    ],
    ids=["unknown-fragment", "fragment-cycle"],
)
def test_broken_fragments_are_validation_errors_not_crashes(client: Client, document: str) -> None:
    response = _post(client, {"query": document})
    assert response.status_code == 400
    assert _codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"]


# --- Malformed requests ----------------------------------------------------------------------


def test_body_over_the_limit_is_refused_before_parsing(client: Client, settings) -> None:
    body = json.dumps({"query": "{ __typename }" + " " * settings.GRAPHQL_MAX_BODY_BYTES})
    response = _post(client, body)
    assert response.status_code == 413
    assert _codes(response.json()) == ["REQUEST_TOO_LARGE"]
    settings.GRAPHQL_MAX_BODY_BYTES = 100
    small = _post(client, {"query": "{ __typename }"})
    assert small.status_code == 200
    assert _post(client, {"query": "{ __typename }" + " " * 100}).status_code == 413


def test_syntax_error_is_a_parse_failure(merchant_api: Api) -> None:
    result = merchant_api.query("query { merchant { slug ", expect_status=400)
    assert _codes(result) == ["GRAPHQL_PARSE_FAILED"]
    assert "Syntax Error" in _messages(result)


@pytest.mark.parametrize(
    ("path", "document", "message"),
    [
        (MERCHANT, "query { merchant { slug secret } }", "Cannot query field 'secret'"),
        (MERCHANT, "query { wallet { balance } }", "Cannot query field 'wallet'"),
        (CONSUMER, "query { myRole }", "Cannot query field 'myRole'"),
        (MERCHANT, "mutation { staffRemove { removedId } }", "argument 'id'"),
        (MERCHANT, 'query { staff(first: "ten") { edges { node { id } } } }', "Int"),
        (MERCHANT, "query { merchant }", "must have a selection"),
        (MERCHANT, "query($x: Int) { myRole }", "never used"),
    ],
    ids=[
        "unknown-field",
        "consumer-field",
        "merchant-field",
        "missing-arg",
        "bad-arg-type",
        "no-selection",
        "unused-var",
    ],
)
def test_invalid_operations_are_validation_failures(
    client: Client, path: str, document: str, message: str
) -> None:
    response = _post(client, {"query": document}, path)
    assert response.status_code == 400
    result = response.json()
    assert "data" not in result
    assert set(_codes(result)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert message in _messages(result)


def test_batched_requests_are_refused(client: Client) -> None:
    response = _post(client, [{"query": "{ __typename }"}, {"query": "{ __typename }"}])
    assert response.status_code == 400
    assert _messages(response.json()) == "Batched requests are not supported."


def test_request_without_a_query_is_refused(client: Client) -> None:
    response = _post(client, {"variables": {}})
    assert response.status_code == 400
    assert _messages(response.json()) == "Must provide query string."
    assert _post(client, "not json").status_code == 400


CREATE, OUT = "createScanCampaign(name", "{ errors { code } }"


@pytest.mark.parametrize(
    "body",
    [
        {
            "query": f"mutation($n: String!) {{ {CREATE}: $n) {OUT} }}",
            "variables": {"n": "T\x00"},
        },
        {"query": "mutation($i: JSONString) { x(i: $i) }", "variables": {"i": {"a\x00": 1}}},
        {"query": f'mutation {{ {CREATE}: "Tea\\u0000") {OUT} }}'},
    ],
    ids=["variable", "key", "literal"],
)
def test_nul_characters_are_refused_before_anything_runs(
    client: Client, tenants: Tenants, body: dict[str, Any]
) -> None:
    """PostgreSQL text cannot hold U+0000; such a string would fail at its INSERT."""
    token = f"Bearer {access_token(tenants.acme_owner)}"
    response = _post(client, body, HTTP_AUTHORIZATION=token)
    assert response.status_code == 400
    assert _codes(response.json()) == ["BAD_REQUEST"]
    assert "NUL" in _messages(response.json())


def test_mutation_over_get_is_refused(client: Client, tenants: Tenants) -> None:
    token = f"Bearer {access_token(tenants.acme_owner)}"
    response = client.get(
        MERCHANT, {"query": "mutation { signOut { ok } }"}, HTTP_AUTHORIZATION=token
    )
    assert response.status_code == 405
    assert response.json()["errors"] == [
        {"message": "Mutations need POST.", "extensions": {"code": "METHOD_NOT_ALLOWED"}}
    ]
    # Nothing was done: the session still works.
    me = client.get(MERCHANT, {"query": "{ me { email } }"}, HTTP_AUTHORIZATION=token)
    assert me.status_code == 200
    assert me.json()["data"]["me"]["email"] == tenants.acme_owner.email


def test_other_http_methods_are_refused(client: Client) -> None:
    assert client.put(MERCHANT, data="{}", content_type="application/json").status_code == 405
    assert client.delete(CONSUMER).status_code == 405


# --- Tokens and cookies ----------------------------------------------------------------------


def test_invalid_tampered_and_expired_tokens_are_401(
    merchant_api: Api, tenants: Tenants, settings
) -> None:
    token = access_token(tenants.acme_owner)
    assert merchant_api.op("Me", token=token)["data"]["me"]["email"] == tenants.acme_owner.email

    for bad in ("garbage", token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "a:b:c"):
        result = merchant_api.op("Me", token=bad, expect_status=401)
        assert _codes(result) == ["TOKEN_INVALID"], bad
        assert "data" not in result

    settings.ACCESS_TOKEN_TTL_SECONDS = -1
    expired = access_token(tenants.acme_owner)
    result = merchant_api.op("Me", token=expired, expect_status=401)
    assert _codes(result) == ["TOKEN_EXPIRED"]


def test_token_failure_tells_the_client_to_refresh(client: Client) -> None:
    response = client.post(MERCHANT, HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_session_cookie_does_not_authenticate_the_api(
    client: Client, merchant_api: Api, tenants: Tenants
) -> None:
    """Only bearer tokens authenticate: another site cannot ride an admin's cookie (CSRF)."""
    superuser = User.objects.create_superuser("root@platform.test", "root-password-1234")
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200  # the cookie is a working session
    for user in (superuser, tenants.acme_owner):
        client.force_login(user)
        assert merchant_api.op("Me") == {"data": {"me": None}}
        result = merchant_api.op("Merchant", merchant="acme")
        assert _codes(result) == ["UNAUTHENTICATED"]
        invite = merchant_api.op(
            "StaffInvite", {"email": "csrf@example.test", "role": "OWNER"}, merchant="acme"
        )["data"]["staffInvite"]
        assert invite["errors"][0]["code"] == "UNAUTHENTICATED"
    assert not User.objects.filter(email="csrf@example.test").exists()


def test_graphiql_is_off_when_debug_is_off(client: Client, settings) -> None:
    assert settings.DEBUG is False
    assert settings.GRAPHIQL is False
    for path in (CONSUMER, MERCHANT):
        response = client.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert b"graphiql" not in response.content.lower()


def test_graphiql_is_served_only_when_enabled(client: Client, settings) -> None:
    """The control for the test above: the page exists and the flag is what hides it."""
    settings.GRAPHIQL = True
    response = client.get(CONSUMER, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"graphiql" in response.content.lower()


def test_introspection_can_be_turned_off(merchant_api: Api, settings) -> None:
    document = "query { __schema { queryType { name } } }"
    assert merchant_api.query(document)["data"]["__schema"]["queryType"]["name"] == (
        "MerchantQuery"
    )
    settings.GRAPHQL_INTROSPECTION = False
    result = merchant_api.query(document, expect_status=400)
    assert "introspection" in _messages(result).lower()


# --- The validation cache ------------------------------------------------------------------


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The documents validated (not answered from the cache), in order; cache emptied."""
    calls: list[str] = []
    real = views.validate

    def spy(schema: Any, document: Any, rules: Any) -> Any:
        calls.append(document.loc.source.body)
        return real(schema, document, rules)

    monkeypatch.setattr(views, "validate", spy)
    monkeypatch.setattr(views.ApiView, "_documents", OrderedDict(), raising=False)
    monkeypatch.setattr(views.ApiView, "_documents_length", 0, raising=False)
    return calls


def test_same_document_is_validated_once_and_answers_the_same(
    merchant_api: Api, tenants: Tenants, validations: list[str]
) -> None:
    token = access_token(tenants.acme_viewer)
    first = merchant_api.op("Merchant", token=token, merchant="acme")
    second = merchant_api.op("Merchant", token=token, merchant="acme")
    assert first == second
    assert first["data"]["merchant"]["slug"] == "acme"
    assert len(validations) == 1
    # Results are not cached, only the validated document: the answer follows the caller.
    other = merchant_api.op("Merchant", token=access_token(tenants.beta_owner))
    assert other["data"]["merchant"]["slug"] == "beta"
    assert len(validations) == 1


def test_cache_does_not_mix_up_documents(merchant_api: Api, validations: list[str]) -> None:
    bad = "query { merchant { secret } }"
    good = "query { __typename }"
    for _ in range(2):
        refused = merchant_api.query(bad, expect_status=400)
        assert "Cannot query field 'secret'" in _messages(refused)
        assert merchant_api.query(good) == {"data": {"__typename": "MerchantQuery"}}
        broken = merchant_api.query("query {", expect_status=400)
        assert _codes(broken) == ["GRAPHQL_PARSE_FAILED"]
    assert validations == [bad, good]


def test_cache_is_per_schema(merchant_api: Api, consumer_api: Api, validations: list[str]) -> None:
    document = "query { myRole }"
    assert _codes(merchant_api.query(document)) == ["UNAUTHENTICATED"]
    result = consumer_api.query(document, expect_status=400)
    assert _codes(result) == ["GRAPHQL_VALIDATION_FAILED"]


def test_cache_follows_the_limits(merchant_api: Api, settings, validations: list[str]) -> None:
    assert merchant_api.query(DEEP_QUERY) == {"data": {"me": None}}
    settings.GRAPHQL_MAX_DEPTH = 3
    assert "depth" in _messages(merchant_api.query(DEEP_QUERY, expect_status=400))
    settings.GRAPHQL_MAX_DEPTH = 10
    assert merchant_api.query(DEEP_QUERY) == {"data": {"me": None}}
    assert len(validations) == 2


def test_large_documents_are_not_cached(merchant_api: Api, validations: list[str]) -> None:
    document = "query { __typename }" + " " * views.ApiView.cache_max_document
    for _ in range(2):
        assert merchant_api.query(document) == {"data": {"__typename": "MerchantQuery"}}
    assert len(validations) == 2
    assert not views.ApiView._documents


def test_the_apis_set_no_cookie(client: Client) -> None:
    # Bearer-only APIs: no CSRF cookie (graphene-django's ensure_csrf_cookie is skipped).
    for path in ("/graphql/", "/merchant/graphql/"):
        response = client.post(
            path, data='{"query": "{ __typename }"}', content_type="application/json"
        )
        assert response.status_code == 200, response.content
        assert not response.cookies, (path, response.cookies)
