"""/healthz, /readyz and the request id in logs (core/health.py, core/logs.py)."""

from __future__ import annotations

import json
import logging

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings

from core.logs import JsonFormatter, RequestIdFilter
from tenants import provisioning


@pytest.fixture
def template(db: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The template schema, made in this test's transaction (a process remembers that it
    checked once; an earlier test's schema was rolled back with its transaction)."""
    monkeypatch.setattr(provisioning, "_template_checked", False)
    return provisioning.ensure_template_schema()


def test_healthz_answers_without_the_database(django_db_blocker: object) -> None:
    # No database access allowed here (no django_db mark): liveness needs none.
    answer = Client().get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_readyz_sees_the_database_redis_and_both_schemas_migrated(template: str) -> None:
    answer = Client().get("/readyz")
    body = answer.json()
    assert answer.status_code == 200, body
    assert body["checks"] == {
        "database": "ok",
        "public_schema": "ok",
        "template_schema": "ok",
        "redis": "ok",
        **({"broker": "ok"} if settings.CELERY_BROKER_URL != settings.REDIS_URL else {}),
    }


def test_readyz_is_503_when_the_template_is_behind_the_code(template: str) -> None:
    """A planted violation: one migration taken out of the template's record."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{template}".django_migrations WHERE app = %s '
            f'AND id = (SELECT max(id) FROM "{template}".django_migrations WHERE app = %s)',
            ["campaigns", "campaigns"],
        )
    answer = Client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["template_schema"].startswith("missing campaigns.")
    assert answer.json()["checks"]["public_schema"] == "ok"


def test_readyz_is_503_when_redis_does_not_answer(template: str) -> None:
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        answer = Client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["redis"].startswith("unreachable")


def test_a_request_id_is_kept_from_the_proxy_or_made_and_returned() -> None:
    given = Client().get("/healthz", HTTP_X_REQUEST_ID="edge-0123456789")
    assert given["X-Request-ID"] == "edge-0123456789"
    # Not a plausible id (spaces, too long): a new one, so logs cannot be forged.
    made = Client().get("/healthz", HTTP_X_REQUEST_ID="x" * 65)
    assert len(made["X-Request-ID"]) == 32 and made["X-Request-ID"] != "x" * 65


def test_a_log_line_is_one_json_object_with_the_request_id() -> None:
    from core.logs import request_id

    token = request_id.set("edge-0123456789")
    try:
        record = logging.LogRecord(
            "core.errors", logging.ERROR, __file__, 1, "兑换失败 %s", ("x",), None
        )
        RequestIdFilter().filter(record)
        line = JsonFormatter().format(record)
    finally:
        request_id.reset(token)
    entry = json.loads(line)
    assert entry["request_id"] == "edge-0123456789"
    assert entry["message"] == "兑换失败 x" and "兑换失败" in line  # readable, not \\u escaped
    assert entry["level"] == "ERROR" and entry["logger"] == "core.errors"
