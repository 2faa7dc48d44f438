"""Tenant-level Celery tasks."""

from __future__ import annotations

from celery import shared_task

from core.db import connection


@shared_task(name="tenants.tasks.schema_probe")
def schema_probe() -> str:
    """Report the schema a task runs in: a health check that workers honour tenancy.

    Sent from inside a merchant's schema it must answer that schema, not ``public``
    (tenant-schemas-celery carries the schema in the task headers).
    """
    return connection.schema_name
