from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from points import liability


class Command(BaseCommand):
    help = (
        "Points liability: outstanding points platform-wide and by merchant, expiring in "
        "30/60/90 days, and issued/redeemed/expired/reversed per month, reconciled with the "
        "ledger's balances. Exits non-zero if the figures disagree with the ledger."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="Only this month's movements (YYYY-MM).")
        parser.add_argument("--csv", action="store_true", help="CSV on standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        month = None
        if options["month"]:
            try:
                year, number = (int(part) for part in options["month"].split("-"))
                month = date(year, number, 1)
            except ValueError as exc:
                raise CommandError("--month must be YYYY-MM") from exc
        result = liability.report(month=month)
        if options["csv"]:
            self.stdout.write(liability.to_csv(result), ending="")
        else:
            self._text(result)
        if result.differences:
            for difference in result.differences:
                self.stderr.write(f"DIFFERENCE {difference}")
            raise CommandError("the liability does not reconcile with the ledger")

    def _text(self, result: liability.LiabilityReport) -> None:
        w = self.stdout.write
        w(f"Points liability as of {result.as_of:%Y-%m-%d %H:%M %Z}")
        w(f"  outstanding (wallet balances) {result.outstanding:>14,}")
        w(f"  wallet entries                {result.wallet_entries:>14,}")
        w(f"  open lots                     {result.open_lots:>14,}")
        for days in liability.WINDOWS:
            w(f"  expiring within {days:>2} days       {result.expiring[days]:>14,}")
        w(f"  overdue (awaiting expiry)     {result.overdue:>14,}")
        header = (
            f"{'month':<8} {'opening':>12} {'issued':>12} {'redeemed':>12} {'expired':>12} "
            f"{'award rev.':>12} {'redeem rev.':>12} {'closing':>12}"
        )

        def months(rows: list[liability.Month]) -> None:
            w("  " + header)
            for m in rows:
                f = m.flows
                w(
                    f"  {m.month:%Y-%m}  {m.opening:>12,} {f.issued:>12,} {f.redeemed:>12,} "
                    f"{f.expired:>12,} {f.award_reversals:>12,} {f.redeem_reversals:>12,} "
                    f"{m.closing:>12,}"
                )

        w("Platform per month")
        months(result.months)
        for merchant in result.merchants:
            expiring = " ".join(f"{d}d={merchant.expiring[d]:,}" for d in liability.WINDOWS)
            w(
                f"Merchant {merchant.slug} (#{merchant.merchant_id}): outstanding "
                f"{merchant.outstanding:,}; expiring {expiring}; overdue {merchant.overdue:,}"
            )
            months(merchant.months)
        if result.consistent:
            w(self.style.SUCCESS("liability equals the ledger's balances"))
