# django-tenants ships no type information. Its database wrapper is the base class of
# ours (core.db.base.DatabaseWrapper), and the code asks it for the schema on every
# request, so its part of the wrapper is declared here: only what the project uses, as
# django-tenants 4.0 defines it. tests/test_db_backend.py checks that each name below
# still exists at runtime. The rest of django-tenants stays untyped (Any).
from typing import Any

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper

class FakeTenant:
    schema_name: str
    tenant_type: str | None
    def __init__(self, schema_name: str, tenant_type: str | None = None) -> None: ...

class DatabaseWrapper(PostgresDatabaseWrapper):
    include_public_schema: bool
    search_path_set_schemas: list[str] | None  # None: not set since the schema changed
    tenant: Any  # the Merchant (a TenantMixin) or a FakeTenant
    schema_name: str
    def set_tenant(self, tenant: Any, include_public: bool = True) -> None: ...
    def set_schema(
        self, schema_name: str, include_public: bool = True, tenant_type: str | None = None
    ) -> None: ...
    def set_schema_to_public(self) -> None: ...
    def set_settings_schema(self, schema_name: str) -> None: ...
    def _handle_search_path(self, cursor: Any | None = None) -> None: ...
    def _get_cursor_search_paths(self) -> list[str]: ...
