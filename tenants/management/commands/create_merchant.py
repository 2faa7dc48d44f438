from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import User
from core.errors import DomainError
from tenants.models import APPROVED_STATUSES, MerchantStatus
from tenants.onboarding import create_merchant


class Command(BaseCommand):
    help = (
        "Onboard a merchant: schema, owner (created if new) and budget account; with "
        "--status pending, only record the application (no schema until approved)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", help="staff user to make owner (created if new)")
        parser.add_argument("--owner-password", help="password for a newly created owner")
        parser.add_argument("--contact-email", default="")
        parser.add_argument("--domain", help="host name that selects this merchant")
        parser.add_argument(
            "--status",
            choices=[MerchantStatus.PENDING, *APPROVED_STATUSES],
            default=MerchantStatus.ACTIVE,
        )
        parser.add_argument("--points-expiry-days", type=int, default=365)

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        try:
            with transaction.atomic():
                owner = None
                if options["owner_email"]:
                    email = options["owner_email"].strip().lower()
                    owner = User.objects.filter(email=email).first()
                    if owner is None:
                        if not options["owner_password"]:
                            raise CommandError("--owner-password is needed for a new owner")
                        owner = User.objects.create_user(email, options["owner_password"])
                merchant = create_merchant(
                    slug=options["slug"],
                    name=options["name"],
                    owner=owner,
                    contact_email=options["contact_email"],
                    status=options["status"],
                    points_expiry_days=options["points_expiry_days"],
                    domain=options["domain"],
                )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        elapsed = time.perf_counter() - started
        if merchant.is_provisioned:
            done = f"created merchant {merchant.slug} (schema {merchant.schema_name})"
        else:
            done = f"recorded the application of {merchant.slug} (no schema until approved)"
        self.stdout.write(self.style.SUCCESS(f"{done} in {elapsed * 1000:.0f} ms"))
