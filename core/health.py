"""``/healthz`` and ``/readyz``: what a load balancer and an orchestrator ask.

``/healthz`` (liveness) answers 200 from the process alone: no database, no Redis. A
failing liveness probe restarts the process, and a database outage must not restart
every web process at once.

``/readyz`` (readiness) answers 200 only when this process can serve: the database
answers, Redis answers (the cache and the broker, when configured), and the public
schema and the merchants' template schema have every migration this code knows.
It never walks the merchant schemas: there are thousands, and they are copies of the
template (decision 0237). A failure is 503 with what failed, so a deploy whose
migrations have not run yet receives no traffic.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

REDIS_TIMEOUT_SECONDS = 2


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@lru_cache(maxsize=1)
def expected_migrations() -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]]:
    """The latest migration of each app, for the public schema and for a merchant's.

    Read from the migration files once per process (they do not change under it).
    """
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    leaves = loader.graph.leaf_nodes()

    def labels(names: list[str]) -> set[str]:
        configs = [apps.get_containing_app_config(name) for name in names]
        return {config.label for config in configs if config is not None}

    shared, tenant = labels(settings.SHARED_APPS), labels(settings.TENANT_APPS)
    return (
        frozenset(leaf for leaf in leaves if leaf[0] in shared),
        frozenset(leaf for leaf in leaves if leaf[0] in tenant),
    )


def _applied(schema: str) -> set[tuple[str, str]]:
    # Schema-qualified: no SET search_path, and a missing schema is an error, not public.
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')
        return {(app, name) for app, name in cursor.fetchall()}


def _check_database() -> dict[str, str]:
    public, tenant = expected_migrations()
    checks: dict[str, str] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    checks["database"] = "ok"
    for name, schema, expected in (
        ("public_schema", settings.PUBLIC_SCHEMA_NAME, public),
        ("template_schema", settings.TENANT_TEMPLATE_SCHEMA, tenant),
    ):
        try:
            missing = expected - _applied(schema)
        except Exception as exc:  # a missing schema or table: not migrated
            connection.close()  # the failed statement aborted its transaction
            checks[name] = f"not migrated ({type(exc).__name__})"
            continue
        checks[name] = (
            "ok" if not missing else "missing " + ", ".join(sorted(map(".".join, missing)))
        )
    return checks


def _check_redis(url: str) -> str:
    import redis

    client = redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    checks: dict[str, Any] = {}
    try:
        checks.update(_check_database())
    except Exception as exc:
        checks["database"] = f"unreachable ({type(exc).__name__})"
    for name, url in (("redis", settings.REDIS_URL), ("broker", settings.CELERY_BROKER_URL)):
        if not url or not url.startswith(("redis://", "rediss://", "unix://")):
            continue
        if name == "broker" and url == settings.REDIS_URL:
            continue  # the same server, asked once
        try:
            checks[name] = _check_redis(url)
        except Exception as exc:
            checks[name] = f"unreachable ({type(exc).__name__})"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": checks,
            "seconds": round(time.monotonic() - started, 3),
        },
        status=200 if ready else 503,
    )
