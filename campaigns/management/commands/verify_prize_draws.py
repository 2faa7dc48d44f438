"""``manage.py verify_prize_draws <merchant-slug> <campaign-id>`` or ``--file DOCUMENT``.

Recomputes every draw of a prize campaign from its published document (the draw log,
the tiers, the revealed seeds; ``campaigns.prizes.verify``), read from the database or
from a file downloaded from the campaign's public verifier page. Prints what it checked;
exits with an error naming each problem found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from campaigns.models import PrizeTable
from campaigns.prizes import verify
from tenants.models import Merchant


class Command(BaseCommand):
    help = "Recompute every draw of a prize campaign from its log and revealed seeds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("merchant", nargs="?", help="the merchant's slug")
        parser.add_argument("campaign_id", nargs="?", type=int, help="the campaign's number")
        parser.add_argument("--file", help="a downloaded verifier document (JSON) instead")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["file"]:
            try:
                document = json.loads(Path(options["file"]).read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read {options['file']}: {exc}") from exc
        else:
            document = self._from_database(options["merchant"], options["campaign_id"])
        report = verify.verify(document)
        self.stdout.write(
            f"{report.draws} draws: {report.recomputed} recomputed, "
            f"{report.pending} waiting for their seed's reveal"
        )
        if not report.ok:
            raise CommandError("\n".join(report.problems))
        self.stdout.write(self.style.SUCCESS("every draw checks"))

    def _from_database(self, slug: str | None, campaign_id: int | None) -> dict[str, Any]:
        if not slug or campaign_id is None:
            raise CommandError("give a merchant's slug and a campaign number, or --file")
        merchant = Merchant.objects.filter(slug=slug, provisioned_at__isnull=False).first()
        if merchant is None:
            raise CommandError(f"no merchant {slug!r}")
        with tenant_context(merchant):
            table = PrizeTable.objects.filter(campaign_id=campaign_id).first()
            if table is None:
                raise CommandError(f"campaign {campaign_id} of {slug} pays no prize table")
            return verify.published(table)
