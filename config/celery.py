"""The Celery app.

Built with tenant-schemas-celery's ``CeleryApp`` so that a task sent from inside a
merchant's schema runs in that schema on the worker (plain ``Celery()`` would run
every task in ``public``). Periodic tasks run in ``public``; those that touch
tenant tables loop over the merchants themselves.
"""

from __future__ import annotations

import os
from typing import Any

from celery.signals import worker_process_init
from tenant_schemas_celery.app import CeleryApp

from core.observability import init_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = CeleryApp("loyalty")


@worker_process_init.connect
def _start_tracing(**_kwargs: Any) -> None:
    """Traces of tasks, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: in each pool
    process, after the fork (the exporter's thread would not survive it). Sentry
    starts with the settings, which every worker loads."""
    init_tracing("loyalty-worker")


app.config_from_object("django.conf:settings", namespace="CELERY")
# Imports the ``tasks`` module of every installed app when the worker starts...
app.autodiscover_tasks()
# ...and of the campaigns app's domain packages, which that does not look into.
app.autodiscover_tasks(
    [
        "campaigns.scan",
        "campaigns.questionnaires",
        "campaigns.exports",
        "campaigns.follow",
        "campaigns.prizes",
    ]
)
