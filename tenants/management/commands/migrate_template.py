"""``manage.py migrate_template``: create or migrate the merchants' template schema.

``migrate`` visits the merchants' schemas, not the template that new merchants copy
(it is no merchant). Run after ``migrate`` in the release step (deploy/Procfile), so
that an approval never migrates the template inside a request, and ``/readyz`` sees
the template as current (decision 0237).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tenants.provisioning import ensure_template_schema


class Command(BaseCommand):
    help = "Create the merchants' template schema if missing and migrate it if behind."

    def handle(self, *args: Any, **options: Any) -> None:
        template = ensure_template_schema()
        self.stdout.write(f"Template schema {template} is current.")
