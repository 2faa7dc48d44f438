"""Every failure answers with a code: what the fuzzer found, and the database going away.

The first cases are regressions for bugs that ``tests/test_fuzz.py`` found (each
answered with an uncoded error, or a Python exception text, before). The rest pin
how unexpected exceptions and a lost database connection are answered: a coded
error, a 503 with ``Retry-After`` for the database, a logged traceback for bugs.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from django.db import OperationalError
from django.http import HttpResponse
from django.test import Client, RequestFactory

from accounts import tokens
from accounts.models import User
from accounts.session_cache import sessions
from api.schema import consumer_schema
from core.unavailable import DatabaseUnavailableMiddleware
from graphql import GraphQLObjectType
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import Tenants

if TYPE_CHECKING:
    # The test client's response (with .json()), as django-stubs names it.
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db


def _codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result["errors"]]


# --- Found by the fuzzer --------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ("first: 729", "first"),
        ("last: 25000", "last"),
        ("first: -1", "first"),
        ('offset: 1, before: "YXJyYXljb25uZWN0aW9uOjA="', "offset"),
        ("offset: -3", "offset"),
    ],
)
def test_paging_arguments_out_of_range_are_refused_with_a_code(
    consumer_api: Api, consumer: User, arguments: str, field: str
) -> None:
    result = consumer_api.query(
        f"{{ categories({arguments}) {{ edges {{ node {{ id }} }} }} }}",
        token=access_token(consumer),
    )
    assert result["data"]["categories"] is None
    [error] = result["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED", "field": field}


def test_a_page_size_in_a_variable_is_checked_too(merchant_api: Api, tenants: Tenants) -> None:
    result = merchant_api.query(
        "query($n: Int) { questionnaires(first: $n) { edges { node { id } } } }",
        {"n": 101},
        token=access_token(tenants.acme_owner),
        merchant="acme",
    )
    assert _codes(result) == ["GRAPHQL_VALIDATION_FAILED"]


@pytest.mark.parametrize(
    "global_id",
    [
        "n",  # not base64
        "-486",
        base64.b64encode(b"NoSuchType:1").decode(),
        base64.b64encode(b"Wallet:1").decode(),  # a type that is not a Node
        base64.b64encode(b"Order:abc").decode(),  # non-numeric key
        base64.b64encode(b"Order:99999999999999999999").decode(),  # beyond bigint
    ],
)
def test_node_with_an_id_that_names_nothing_is_null(
    consumer_api: Api, consumer: User, global_id: str
) -> None:
    result = consumer_api.query(
        "query($id: ID!) { node(id: $id) { id } }", {"id": global_id}, token=access_token(consumer)
    )
    assert result == {"data": {"node": None}}


def test_dashboard_with_an_explicit_null_period_is_invalid_period(
    merchant_api: Api, tenants: Tenants
) -> None:
    result = merchant_api.query(
        "{ dashboard(days: null) { pointsAwarded } }",
        token=access_token(tenants.acme_owner),
        merchant="acme",
    )
    assert _codes(result) == ["INVALID_PERIOD"]


# --- Unexpected exceptions and a lost database ------------------------------------


@contextmanager
def wallet_raising(
    exc: Exception, type_name: str | None = None, field_name: str = "wallet"
) -> Iterator[None]:
    """The consumer schema's ``wallet`` resolver (or that of ``type_name.field_name``)
    raises ``exc`` (graphql-core reads ``field.resolve`` at execution, so replacing it
    takes effect at once)."""
    schema = consumer_schema.graphql_schema
    parent = schema.query_type if type_name is None else schema.get_type(type_name)
    assert isinstance(parent, GraphQLObjectType)
    field = parent.fields[field_name]
    original = field.resolve

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise exc

    field.resolve = broken
    try:
        yield
    finally:
        field.resolve = original


def _wallet(client: Client, consumer: User) -> TestResponse:
    return client.post(
        "/graphql/",
        {"query": "{ wallet { balance } }"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token(consumer)}",
    )


def test_a_bug_in_a_resolver_is_logged_and_answered_without_internals(
    client: Client, consumer: User, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        wallet_raising(RuntimeError("secret internals: /srv/app/points.py line 3")),
        caplog.at_level(logging.ERROR, logger="core.errors"),
    ):
        response = _wallet(client, consumer)
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret" not in error["message"]
    [record] = [r for r in caplog.records if r.name == "core.errors"]
    assert record.levelno == logging.ERROR and record.exc_info is not None


def test_a_lost_database_in_a_resolver_is_503_service_unavailable(
    client: Client, consumer: User
) -> None:
    with wallet_raising(OperationalError("server closed the connection unexpectedly")):
        response = _wallet(client, consumer)
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}


@pytest.mark.parametrize(
    ("exc", "code", "status"),
    [
        (RuntimeError("secret internals"), "INTERNAL_SERVER_ERROR", 200),
        (OperationalError("server closed the connection unexpectedly"), "SERVICE_UNAVAILABLE", 503),
    ],
)
def test_a_nested_field_that_raises_is_coded_too(
    client: Client, consumer: User, exc: Exception, code: str, status: int
) -> None:
    # A nested field without arguments takes the field middleware's short path
    # (api.middleware.field_middleware): its errors must be coded all the same.
    with wallet_raising(exc, "Wallet", "balance"):
        response = _wallet(client, consumer)
    assert response.status_code == status
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": code}
    assert error["path"] == ["wallet", "balance"]
    assert "secret" not in error["message"]


@pytest.mark.parametrize(
    ("path", "query"),
    # The consumer API checks the session in the view (deferred, decision 0343), the
    # merchant API in the middleware.
    [("/graphql/", "{ me { phone } }"), ("/merchant/graphql/", "{ __typename }")],
)
def test_a_lost_database_in_the_token_check_is_503_not_500(
    client: Client, consumer: User, monkeypatch: pytest.MonkeyPatch, path: str, query: str
) -> None:
    token = access_token(consumer)

    def lost(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(tokens, "_session_with_user", lost)
    sessions._entries.clear()  # the session is read, not found in the process
    response = client.post(
        path,
        {"query": query},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


def test_a_view_that_loses_the_database_answers_503(rf: RequestFactory) -> None:
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    request = rf.get("/mall")
    response = middleware.process_exception(request, OperationalError("could not connect"))
    assert response is not None and response.status_code == 503
    # Other exceptions are left to Django (a 500, logged): they are bugs.
    assert middleware.process_exception(request, ValueError("bug")) is None
