from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from portability.moving import MoveError, export, load


class Command(BaseCommand):
    help = (
        "Move one merchant to another database. `export SLUG DIR` (on the source) marks it "
        "moved, takes its points out of this ledger and writes its schema and public rows to "
        "DIR; `load DIR` (on the target, migrated) loads them, all or nothing. See "
        "docs/operations.md, 'Moving one merchant'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        out = actions.add_parser("export", help="on the source database")
        out.add_argument("slug")
        out.add_argument("directory", type=Path, help="a new or empty directory")
        out.add_argument("--note", default="", help="why, where to: kept in both audit logs")
        into = actions.add_parser("load", help="on the target database")
        into.add_argument("directory", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "export":
                manifest = export(options["slug"], options["directory"], note=options["note"])
                counts = manifest["counts"]
                self.stdout.write(
                    self.style.SUCCESS(
                        f"exported {manifest['slug']} (move {manifest['move']}) to "
                        f"{options['directory']}: {counts['transactions']} transactions, "
                        f"{counts['points_of_consumers']} points of "
                        f"{counts['consumers_with_points']} consumers, "
                        f"{counts['budget_and_reserves']} in budget and reserves; "
                        "the merchant is now marked moved here"
                    )
                )
            else:
                loaded = load(options["directory"])
                rows = sum(loaded.rows.values())
                self.stdout.write(
                    self.style.SUCCESS(
                        f"loaded {loaded.merchant.slug} (schema {loaded.merchant.schema_name}): "
                        f"{rows} rows in its schema, {loaded.transactions} transactions replayed, "
                        f"{loaded.lots} lots, {loaded.users_created} users created and "
                        f"{loaded.users_matched} matched"
                    )
                )
        except MoveError as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:
            raise CommandError(
                f"the database refused the move, nothing was changed: {exc}"
            ) from exc
