"""What moving a module must not break: migrations, task names and the beat schedule.

- Models and migrations agree (``makemigrations --check`` finds nothing to write).
- An empty database migrates from scratch, and a new merchant is then created from
  the template schema, each by ``manage.py`` in a process of its own as on a
  deploy. Migrations store the import paths of defaults, validators and callables;
  a module moved under them fails here, where ``makemigrations --check`` (which
  compares states, not imports of every old migration) may not notice.
- A worker registers exactly today's task names, and beat schedules today's
  entries: queued messages and the schedule name tasks by these strings, so a
  renamed one would be dropped by the workers after a deploy.

Everything runs on the real PostgreSQL: the fresh database is made and dropped by
the test itself, on the test database's server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator
from io import StringIO
from typing import Any

import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tests.fixtures.processes import ROOT, child_env, database_url

# Today's names (`name=` of every task): messages already queued carry them.
TASK_NAMES = {
    "analytics.tasks.rollup",
    "analytics.tasks.rollup_merchant",
    "campaigns.export_tasks.render_export",
    "campaigns.follow.credit_follow",
    "campaigns.follow.note_unfollow",
    "campaigns.questionnaire_exports.render_responses",
    "campaigns.tasks.generate_codes",
    "campaigns.tasks.import_codes",
    "campaigns.tasks.resume_stalled_batches",
    "campaigns.tasks.rotate_prize_seeds",
    "earning.tasks.award_birthday_bonuses",
    "earning.tasks.refresh_ways_to_earn",
    "earning.tasks.settle_pending_awards",
    "campaigns.tasks.drain_scan_events",
    "notifications.tasks.notify_expiring_points",
    "notifications.tasks.order_shipped",
    "points.tasks.expire_lots",
    "privacy.tasks.build_data_copy",
    "privacy.tasks.erase_due_accounts",
    "tenants.tasks.schema_probe",
    "webhooks.tasks.deliver",
    "webhooks.tasks.relay",
    "webhooks.tasks.send_due",
}
# Today's schedule with its defaults (seconds).
BEAT_SCHEDULE = {
    "expire-lots": {"task": "points.tasks.expire_lots", "schedule": 3600},
    "analytics-rollup": {"task": "analytics.tasks.rollup", "schedule": 900},
    "resume-stalled-batches": {"task": "campaigns.tasks.resume_stalled_batches", "schedule": 120},
    "send-due-webhooks": {"task": "webhooks.tasks.send_due", "schedule": 30},
    "notify-expiring-points": {
        "task": "notifications.tasks.notify_expiring_points",
        "schedule": 3600,
    },
    "rotate-prize-seeds": {"task": "campaigns.tasks.rotate_prize_seeds", "schedule": 600},
    "erase-due-accounts": {"task": "privacy.tasks.erase_due_accounts", "schedule": 3600},
    "settle-pending-awards": {"task": "earning.tasks.settle_pending_awards", "schedule": 3600},
    "refresh-ways-to-earn": {"task": "earning.tasks.refresh_ways_to_earn", "schedule": 300},
    "award-birthday-bonuses": {"task": "earning.tasks.award_birthday_bonuses", "schedule": 3600},
    "drain-scan-events": {"task": "campaigns.tasks.drain_scan_events", "schedule": 30},
}


# --- Migrations -----------------------------------------------------------------------


@pytest.mark.django_db
def test_makemigrations_finds_no_change() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", check=True, dry_run=True, stdout=out, stderr=out)
    except SystemExit as exit_:  # --check exits with 1 when a migration is missing
        pytest.fail(f"makemigrations --check exited with {exit_.code}:\n{out.getvalue()}")


def _admin() -> psycopg.Connection[Any]:
    """An autocommit connection to the server's maintenance database."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


@pytest.fixture
def empty_database() -> Iterator[str]:
    """The name of a new, empty database, dropped at the end."""
    name = f"test_fresh_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _labels(app_paths: Iterable[str]) -> set[str]:
    return {config.label for config in apps.get_app_configs() if config.name in app_paths}


def _tables(labels: set[str]) -> set[str]:
    """The tables the models of these apps need (many-to-many tables included)."""
    return {
        model._meta.db_table
        for label in labels
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def _migrations_on_disk() -> set[tuple[str, str]]:
    """Every migration of every app: a schema records all as applied, its own or not."""
    return set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)


@pytest.mark.timeout(900)
def test_an_empty_database_migrates_and_a_new_merchant_is_made_from_the_template(
    empty_database: str,
) -> None:
    env = child_env(
        DATABASE_URL=database_url(empty_database),
        # Tasks of the onboarding in this process: the run's worker serves another database.
        CELERY_TASK_ALWAYS_EAGER="1",
        CACHE_KEY_PREFIX=f"fresh-{uuid.uuid4().hex[:8]}",
    )
    _manage(env, "migrate_schemas", "--shared", "--noinput")
    out = _manage(
        env,
        "create_merchant",
        "fresh-tea",
        "--name",
        "Fresh Tea",
        "--owner-email",
        "owner@fresh.test",
        "--owner-password",
        "Fresh-leaves-2024",
    )
    assert "created merchant fresh-tea" in out, out

    shared, tenant = _labels(settings.SHARED_APPS), _labels(settings.TENANT_APPS)
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=empty_database,
    ) as fresh:

        def tables(schema: str) -> set[str]:
            rows = fresh.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                [schema],
            ).fetchall()
            return {name for (name,) in rows}

        def applied(schema: str) -> set[tuple[str, str]]:
            rows = fresh.execute(f'SELECT app, name FROM "{schema}".django_migrations')
            return {(app, name) for app, name in rows.fetchall()}

        [(schema,)] = fresh.execute(
            "SELECT schema_name FROM tenants_merchant WHERE slug = 'fresh-tea'"
        ).fetchall()
        owner = fresh.execute(
            "SELECT u.email FROM tenants_membership m JOIN accounts_user u ON u.id = m.user_id"
            " JOIN tenants_merchant t ON t.id = m.merchant_id"
            " WHERE t.slug = 'fresh-tea' AND m.role = 'owner'"
        ).fetchall()
        assert owner == [("owner@fresh.test",)]

        # The public schema: every shared model's table, every migration recorded.
        assert _tables(shared) - tables("public") == set()
        assert applied("public") == _migrations_on_disk()

        # The merchant's schema: a full copy of the migrated template.
        template = settings.TENANT_TEMPLATE_SCHEMA
        assert _tables(tenant) | {"django_migrations"} <= tables(schema)
        assert tables(schema) == tables(template)
        assert applied(schema) == applied(template) == _migrations_on_disk()


# --- Celery ---------------------------------------------------------------------------

# What a worker sees at start: the tasks its autodiscovery registers, and beat's schedule.
WORKER_VIEW = """
import json
import django

django.setup()
from django.conf import settings
from config.celery import app

app.loader.import_default_modules()  # what `celery worker` imports before consuming
print(json.dumps({
    "tasks": sorted(name for name in app.tasks if not name.startswith("celery.")),
    "beat": settings.CELERY_BEAT_SCHEDULE,
}, default=repr))
"""


@pytest.fixture(scope="module")
def worker_view() -> dict[str, Any]:
    # A fresh process: this one has imported every module, so its registry would
    # also list a task that the worker's autodiscovery no longer finds.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_INTERVAL_SECONDS")  # the schedule's own defaults
    }
    env["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
    done = subprocess.run(
        [sys.executable, "-c", WORKER_VIEW],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_worker_registers_todays_task_names(worker_view: dict[str, Any]) -> None:
    assert set(worker_view["tasks"]) == TASK_NAMES


def test_the_beat_schedule_is_todays(worker_view: dict[str, Any]) -> None:
    assert worker_view["beat"] == BEAT_SCHEDULE
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} <= TASK_NAMES
