"""Schemathesis fuzzes both GraphQL APIs through the in-process WSGI app, signed in.

Every root field of each schema (the checked-in SDL snapshots in ``graphql/``, the
same schema that the snapshot test compares with the code) becomes a test; for each
one schemathesis generates documents and variables (valid and invalid) and sends
them with a fresh bearer token: a consumer's to ``/graphql/``, the owner of
``acme``'s with ``X-Merchant: acme`` to ``/merchant/graphql/``.

What must hold for every request:

- no 5xx, and the body is a JSON object;
- every GraphQL error carries a stable ``extensions.code`` and none is
  ``INTERNAL_SERVER_ERROR`` (an exception the code did not expect);
- nothing was logged at ERROR (``django.request`` logs a 500,
  ``core.errors`` an unhandled resolver exception).

Schemathesis's own GraphQL check counts any error with a ``path`` as a server
error, which our coded refusals of queries (``NOT_FOUND``, ``UNAUTHENTICATED``)
would fail; the checks above are the stricter form of what it means here.

The budget (``FUZZ_EXAMPLES`` per root field, 10 by default) keeps each API under a
minute on two cores; set it higher for a longer hunt. Writes happen inside the
test's transaction and roll back.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from accounts import tokens
from accounts.models import User
from api.errors import KNOWN_CODES
from config.wsgi import application
from tests.fixtures.tenants import Tenants

GRAPHQL_DIR = Path(__file__).resolve().parent.parent / "graphql"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))

# Codes that are not ErrorCode values but answer requests refused before or
# outside execution (docs/api.md, "Errors").
TRANSPORT_CODES = {
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "BAD_REQUEST",
    "METHOD_NOT_ALLOWED",
    "REQUEST_TOO_LARGE",
    "TOKEN_INVALID",
    "TOKEN_EXPIRED",
    "SESSION_REVOKED",
}
CLEAR_CODES = (KNOWN_CODES | TRANSPORT_CODES) - {"INTERNAL_SERVER_ERROR"}

# Signing out would revoke the token the next example needs, and a new token is
# issued for every example anyway; sign-in needs real credentials to go further
# than the refusals, which the API tests cover.
NOT_FUZZED = {"signOut"}


# graphene's JSONString (questionnaire answers and definitions): JSON documents of any
# shape, and text that is not JSON at all.
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
schemathesis.graphql.scalar(
    "JSONString",
    (_json.map(json.dumps) | st.text(max_size=40)).map(schemathesis.graphql.nodes.String),
)


def _schema(kind: str, path: str) -> Any:
    schema = schemathesis.graphql.from_path(GRAPHQL_DIR / f"{kind}.graphql")
    # Served in-process: schemathesis calls the WSGI app (as from_wsgi would).
    schema.app = application
    schema.location = path
    return schema.exclude(name_regex="|".join(NOT_FUZZED))


consumer_schema = _schema("consumer", "/graphql/")
merchant_schema = _schema("merchant", "/merchant/graphql/")

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure is reproducible
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def in_process_connections() -> Iterator[None]:
    """Keep the test's connection across requests, as Django's test client does.

    The real WSGI handler closes "old" connections when a request starts and ends;
    inside the test's transaction that would throw the transaction away.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def error_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING)
    return caplog


def check_response(response: Any, label: str, caplog: pytest.LogCaptureFixture) -> None:
    errors_logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors_logged, [(r.name, r.getMessage(), r.exc_text) for r in errors_logged]
    assert response.status_code < 500, (label, response.status_code, response.text[:2000])
    body = response.json()
    assert isinstance(body, dict), (label, body)
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code in CLEAR_CODES, (label, response.status_code, error)


def _call(case: Any, token: str, merchant: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if merchant:
        headers["X-Merchant"] = merchant
    return case.call(headers=headers)


@consumer_schema.parametrize()
@FUZZ_SETTINGS
@pytest.mark.django_db
def test_consumer_api_fuzz(
    case: Any,
    consumer: User,
    in_process_connections: None,
    error_log: pytest.LogCaptureFixture,
) -> None:
    response = _call(case, tokens.issue(consumer).access_token)
    check_response(response, case.operation.label, error_log)


@merchant_schema.parametrize()
@FUZZ_SETTINGS
@pytest.mark.django_db
def test_merchant_api_fuzz(
    case: Any,
    tenants: Tenants,
    in_process_connections: None,
    error_log: pytest.LogCaptureFixture,
) -> None:
    response = _call(case, tokens.issue(tenants.acme_owner).access_token, merchant="acme")
    check_response(response, case.operation.label, error_log)
