# Only postgresql_backend/base.pyi is declared; django-tenants' other modules stay untyped (Any).
