from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.snapshots import SNAPSHOTS, render, snapshot_dir


class Command(BaseCommand):
    help = "Write the SDL of both GraphQL schemas to graphql/*.graphql (or --check them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="exit non-zero if a snapshot is out of date"
        )

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        stale = []
        for filename, schema in SNAPSHOTS.items():
            path = snapshot_dir() / filename
            sdl = render(schema)
            if check:
                if not path.exists() or path.read_text() != sdl:
                    stale.append(filename)
                continue
            path.write_text(sdl)
            self.stdout.write(f"wrote {path.relative_to(snapshot_dir().parent)}")
        if stale:
            raise CommandError(
                f"out of date: {', '.join(stale)}; run `manage.py graphql_snapshots`"
            )
