"""``manage.py drain_scan_events``: the dedicated drainer of scan events, run continuously.

Blocks on the stream (``--block-ms``) so that an event is written within moments of its
scan; after a read that did not fill a batch it waits ``--pause-ms`` before the next, so
that under a steady trickle each transaction writes a second's events rather than a few
(a write's fixed cost, per merchant, is several events' worth). Several may run at once (a
consumer group shares the entries out). ``--once`` drains what is queued and stops.
"""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from campaigns.scan import events


class Command(BaseCommand):
    help = "Write queued scan events into the merchants' schemas, continuously."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="drain what is queued, then stop")
        parser.add_argument("--block-ms", type=int, default=1000, help="wait for new events")
        parser.add_argument("--count", type=int, default=2000, help="entries per transaction")
        parser.add_argument(
            "--pause-ms", type=int, default=1000, help="wait after a read that was not full"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            self.stdout.write(f"{events.drain_all()} scan events written")
            return
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True  # finish the batch in hand: it is written and acknowledged

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            written = events.drain(count=options["count"], block_ms=options["block_ms"])
            if written < options["count"] and not stopping:
                time.sleep(options["pause_ms"] / 1000)
