from typing import Any

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper

class FakeTenant:
    schema_name: str
    tenant_type: str | None
    def __init__(self, schema_name: str, tenant_type: str | None = None) -> None: ...

class DatabaseWrapper(PostgresDatabaseWrapper):
    include_public_schema: bool
    search_path_set_schemas: list[str] | None
    tenant: Any
    schema_name: str
    def set_tenant(self, tenant: Any, include_public: bool = True) -> None: ...
    def set_schema(
        self, schema_name: str, include_public: bool = True, tenant_type: str | None = None
    ) -> None: ...
    def set_schema_to_public(self) -> None: ...
    def set_settings_schema(self, schema_name: str) -> None: ...
    def _handle_search_path(self, cursor: Any | None = None) -> None: ...
