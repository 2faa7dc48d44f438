"""Our own codes' claim before and after code imports, in one run, in this process.

Code imports changed two things on the claim's path (decisions 0205, 0206): the claim
finds the merchant through ``campaigns.scan.routing.route`` instead of ``codes.parse``
(for our codes: the same ``parse``, no query), and ``campaigns_code.code`` is
``varchar(32)`` instead of ``varchar(18)``. This script times ``claims.claim_code`` of our
own codes in alternating rounds on one database:

* **before**: ``claims.route`` replaced by ``codes.parse`` and the column altered back to
  ``varchar(18)``;
* **after**: as the branch is (``route``, ``varchar(32)``);

and, for reference, a last round of **imported** codes (20 random digits, found through
the public routing table). Printed per round: this process's CPU per claim (the Python
side, steadier than a rate on a busy machine), wall time per claim and statements per
claim; then the medians of before and after. The full stack's figure is bench/claims.py.

Run from the project root::

    uv run python bench/routing.py [--claims 2000] [--rounds 3]

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/loyalty_bench_routing),
Redis BENCH_REDIS_URL (default redis://127.0.0.1:6379/14); both recreated and dropped.
"""

from __future__ import annotations

import argparse
import functools
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for path in (ROOT, BENCH):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from harness import bench_resources, make_consumers, start_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_routing"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"


def timed(label: str, calls: list[Callable[[], object]]) -> float:
    from core.db import connection

    statements = 0

    def count(execute: Callable[..., object], *args: object) -> object:
        nonlocal statements
        statements += 1
        return execute(*args)

    with connection.execute_wrapper(count):
        wall, cpu = time.perf_counter(), time.process_time()
        for call in calls:
            call()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    n = len(calls)
    print(
        f"{label:9} {n:,} claims: {cpu * 1000 / n:.3f} ms CPU, {wall * 1000 / n:.3f} ms wall, "
        f"{statements / n:.1f} statements per claim",
        flush=True,
    )
    return cpu * 1000 / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=2000, help="claims per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of before and of after")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    with bench_resources(url, redis_url, keep=False, prefix="bench-routing"):
        start_django(url, redis_url, "bench-routing")
        return run(args.claims, args.rounds)


def run(per_round: int, rounds: int) -> int:
    from django.core.files.base import ContentFile
    from django_tenants.utils import tenant_context

    from campaigns.models import CampaignStatus, Code, ImportLayout, ImportStatus
    from campaigns.scan import claims, codes, importing, imports, services
    from campaigns.scan.generation import generate_batch
    from campaigns.scan.routing import route
    from campaigns.services import set_status
    from core.db import connection
    from points.services import fund_with_money
    from tenants.onboarding import create_merchant

    total = per_round * 2 * rounds
    merchant = create_merchant(slug="bench-routing", name="Bench Routing")
    fund_with_money(
        merchant, amount_minor=2 * total, currency="CNY", rate="100", payment_reference="bench-r"
    )
    consumers = make_consumers(max(50, total // 100)).users
    with tenant_context(merchant):
        campaign = services.create_scan_campaign(name="Bench caps")
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
        batch = services.create_batch(merchant, campaign, size=total, points_per_code=1)
        generate_batch(batch.pk)
        ours = list(Code.objects.filter(batch=batch).values_list("code", flat=True))
    connection.set_schema_to_public()
    schema = merchant.schema_name

    def width(characters: int) -> None:
        with connection.cursor() as cursor:
            for table, column in (("campaigns_code", "code"), ("campaigns_claim", "code_id")):
                cursor.execute(
                    f'ALTER TABLE "{schema}".{table} ALTER COLUMN {column} '
                    f"TYPE varchar({characters})"
                )

    claimed = 0

    def calls(codes_: list[str], tag: str) -> list[Callable[[], object]]:
        def claim(code: str, n: int) -> object:
            # Spread over the consumers: under their per-minute limit.
            return claims.claim_code(consumers[n % len(consumers)], code, f"{tag}-{n}")

        return [functools.partial(claim, c, n) for n, c in enumerate(codes_)]

    print(f"{total:,} codes of ours, {per_round:,} imported; {len(consumers):,} consumers")
    before: list[float] = []
    after: list[float] = []
    for round_ in range(rounds):
        for label in ("before", "after"):
            chunk = ours[claimed : claimed + per_round]
            claimed += per_round
            if label == "before":
                width(18)
                claims.route = codes.parse  # type: ignore[attr-defined]
                before.append(timed(label, calls(chunk, f"b{round_}")))
            else:
                width(32)
                claims.route = route  # type: ignore[attr-defined]
                after.append(timed(label, calls(chunk, f"a{round_}")))
    claims.route = route  # type: ignore[attr-defined]
    width(32)
    # Imported codes last: once there, the column cannot go back to 18 characters.
    printed = [f"{secrets.randbelow(10**20):020d}" for _ in range(per_round)]
    with tenant_context(merchant):
        code_import = imports.request_import(
            merchant, campaign, layout=ImportLayout.CODES, file_format="csv", points_per_code=1
        )
        imports.receive_file(code_import, ContentFile("\n".join(printed).encode(), name="c.csv"))
        assert importing.run_import(code_import.pk).status == ImportStatus.IMPORTED
    connection.set_schema_to_public()
    timed("imported", calls(printed, "imported"))
    b, a = statistics.median(before), statistics.median(after)
    print(
        f"median CPU per claim of our codes: before {b:.3f} ms, after {a:.3f} ms "
        f"({(a - b) / b * 100:+.1f}%)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
