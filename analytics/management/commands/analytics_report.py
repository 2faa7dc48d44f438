from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics import queries
from analytics.rollup import today
from core.errors import DomainError
from tenants.models import Merchant


class Command(BaseCommand):
    help = (
        "Active consumers, new vs returning, reach, repeat and redeeming consumers, funnel "
        "and weekly cohorts, platform-wide or for one merchant, from the analytics tables."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first", type=date.fromisoformat)
        parser.add_argument("--to", dest="last", type=date.fromisoformat)
        parser.add_argument("--merchant", help="A merchant's slug (default: the platform).")
        parser.add_argument("--csv", action="store_true", help="CSV on standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        last = options["last"] or today()
        first = options["first"] or last - timedelta(days=29)
        merchant_id = None
        if options["merchant"]:
            merchant_id = (
                Merchant.objects.filter(slug=options["merchant"]).values_list("pk", flat=True)
            ).first()
            if merchant_id is None:
                raise CommandError(f"no merchant {options['merchant']!r}")
        try:
            result = queries.summary(merchant_id, first, last)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if options["csv"]:
            self.stdout.write(queries.to_csv(result), ending="")
            return
        w = self.stdout.write
        w(f"{options['merchant'] or 'platform'} {first}..{last} (rolled up to {result.rolled_to})")
        w("day         " + " ".join(f"{f:>9}" for f in queries.DAY_FIELDS))
        for day in result.days:
            w(f"{day.day}  " + " ".join(f"{getattr(day, f):>9}" for f in queries.DAY_FIELDS))
        scans, claims, redeems = result.funnel
        w(
            f"reached {result.reached}, repeat {result.repeat}, redeemed {result.redeemed} "
            f"({result.redeemed_share:.1%}); funnel scans {scans} → claims {claims} → "
            f"redemptions {redeems}"
        )
        for cohort in result.cohorts:
            w(f"cohort {cohort.week}: {cohort.size} → {cohort.retained}")
