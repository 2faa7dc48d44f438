"""Server-side SQL functions of the hot paths: kept as files beside their domain code,
re-created from them on every ``migrate``.

A function that a migration created once would keep its old body until someone wrote
another migration; these are re-created (``CREATE OR REPLACE``) whenever the public
schema is migrated, as Django re-creates content types and permissions after each
``migrate``, so the database runs the body the code was written against. An app lists
its files with ``install_on_migrate`` in its ``AppConfig.ready``. The functions live
in the public schema; a function that reads a merchant's tables takes the schema as an
argument and sets the search path for itself (campaigns/scan/sql/claim_code.sql).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.db import connections, transaction
from django.db.models.signals import post_migrate
from django_tenants.utils import get_public_schema_name

_NAME = re.compile(r"CREATE OR REPLACE FUNCTION public\.(\w+)\(")

# Every overload of the name: a file whose arguments changed would otherwise add a
# second function beside the old one instead of replacing it.
_DROP_OVERLOADS = """
DO $$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
              WHERE p.proname = %s AND p.pronamespace = 'public'::regnamespace LOOP
        EXECUTE 'DROP FUNCTION ' || f;
    END LOOP;
END
$$
"""


def install(files: list[Path], using: str = "default") -> None:
    """Re-create each file's function (on the public schema's migrate).

    In one transaction: the old function is dropped (every overload of its name) and the
    file's created, so a session calling it meanwhile waits and then finds the new one.
    """
    db = connections[using]
    if getattr(db, "schema_name", get_public_schema_name()) != get_public_schema_name():
        return  # a merchant schema's migrate: the functions are the public schema's
    with transaction.atomic(using=using), db.cursor() as cursor:
        for path in files:
            sql = path.read_text()
            name = _NAME.search(sql)
            if name is None:
                raise ValueError(f"{path}: no CREATE OR REPLACE FUNCTION public.<name>(")
            cursor.execute(_DROP_OVERLOADS.replace("%s", f"'{name.group(1)}'"))
            cursor.execute(sql)


def install_on_migrate(app_config: AppConfig, *names: str) -> None:
    """Install the app's SQL files (paths relative to the app's folder) after every
    migrate of the public schema."""
    files = [Path(app_config.path) / name for name in names]

    def installed(sender: AppConfig, using: str = "default", **_kwargs: Any) -> None:
        install(files, using)

    # weak=False: the receiver is a closure that nothing else holds.
    post_migrate.connect(
        installed, sender=app_config, weak=False, dispatch_uid=f"sql:{app_config.label}"
    )
