"""``migrate`` (django-tenants' ``migrate_schemas``) visits only schemas that exist.

django-tenants migrates every tenant row's schema. An application (a pending or
declined merchant) has a row whose schema is not created until approval, and
migrating it would fail ("no schema has been selected to create in") and stop the
deploy's migration of every merchant after it. ``settings.GET_EXECUTOR_FUNCTION``
names ``get_executor``: django-tenants' executor of the requested kind (standard,
multiprocessing), with the unprovisioned merchants' schema names taken out of its
list. A merchant approved later gets a copy of the template, which is migrated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django_tenants.migration_executors import MigrationExecutor
from django_tenants.migration_executors import get_executor as tenants_executor
from django_tenants.utils import get_public_schema_name


def _name(schema: Any) -> str:
    return schema[0] if isinstance(schema, tuple) else schema


def without_applications(schemas: Iterable[Any]) -> list[Any]:
    """``schemas`` (names, or (name, type) pairs) less those of unprovisioned merchants."""
    from tenants.models import Merchant

    schemas = list(schemas)
    if all(_name(s) == get_public_schema_name() for s in schemas):
        return schemas  # migrating public: the merchant table may not exist yet
    unprovisioned = set(
        Merchant.objects.filter(provisioned_at__isnull=True).values_list("schema_name", flat=True)
    )
    return [s for s in schemas if _name(s) not in unprovisioned]


def get_executor(codename: str | None = None) -> type[MigrationExecutor]:
    base = tenants_executor(codename)

    class ProvisionedOnly(base):  # type: ignore[valid-type, misc]  # a base chosen at runtime
        def run_migrations(self, tenants: Any = None) -> Any:
            return super().run_migrations(tenants=without_applications(tenants or []))

        def run_multi_type_migrations(self, tenants: Any) -> Any:
            return super().run_multi_type_migrations(tenants=without_applications(tenants or []))

    ProvisionedOnly.__name__ = f"ProvisionedOnly{base.__name__}"
    return ProvisionedOnly
