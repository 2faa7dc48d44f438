from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.rollup import pending_range, rollup


class Command(BaseCommand):
    help = (
        "Roll activity up from the ledger into the analytics tables: by default what the "
        "periodic task would do (from the last completed day to today); --from/--to "
        "rebuilds any days (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first", type=date.fromisoformat)
        parser.add_argument("--to", dest="last", type=date.fromisoformat)

    def handle(self, *args: Any, **options: Any) -> None:
        pending = pending_range()
        first = options["first"] or (pending[0] if pending else None)
        last = options["last"] or (pending[1] if pending else None)
        if first is None or last is None:
            self.stdout.write("no activity yet")
            return
        if first > last:
            raise CommandError("--from must not be after --to")
        result = rollup(first, last)
        self.stdout.write(f"rolled up {result.first}..{result.last} in {result.seconds:.2f} s")
