from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from points.audit import CHECKS, audit


class Command(BaseCommand):
    help = (
        "Prove the ledger's invariants: every transaction sums to zero, every balance "
        "equals its entries, wallets equal their lots. Exits non-zero on any breach."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = audit()
        if problems:
            for problem in problems:
                self.stderr.write(f"FAIL {problem.check}: {problem.detail}")
            raise CommandError(f"ledger check failed: {len(problems)} problem(s)")
        for name, _sql in CHECKS:
            self.stdout.write(f"ok   {name}")
        self.stdout.write(self.style.SUCCESS("ledger is consistent"))
