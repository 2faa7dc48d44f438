"""What a call of a shared SQL helper costs inside a PL/pgSQL function (decision 0302).

The claim, the prize claim and the questionnaire's submit shared copies of the same
checks; the copies became helper functions where a call costs nothing measurable, and
stay written out in the fixed-points claim where it does. This prints, for each helper,
the time of N evaluations written out and N calls of the helper, in one PL/pgSQL loop on
the server (no round trips: only the call itself differs), three times.

    uv run python bench/sql_helpers.py [--calls 20000]

Database: BENCH_DATABASE_URL, else DATABASE_URL (a migrated one: ``points_account``
must exist). The helpers are created from this checkout's files, and everything runs in
a transaction that is rolled back.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
HELPERS = (
    "points/sql/points_wallet.sql",
    "campaigns/sql/campaigns_claimable.sql",
    "campaigns/sql/campaigns_claim_limit.sql",
)

LOOP = """
DO $$
DECLARE t0 timestamptz; a interval; b interval; w bigint;
        s text := 'active'; st timestamptz := now() - interval '1 day';
        en timestamptz; n timestamptz := now();
BEGIN
  t0 := clock_timestamp();
  FOR i IN 1..{calls} LOOP {inline} END LOOP;
  a := clock_timestamp() - t0;
  t0 := clock_timestamp();
  FOR i IN 1..{calls} LOOP {helper} END LOOP;
  b := clock_timestamp() - t0;
  RAISE NOTICE 'RESULT % %', extract(epoch from a), extract(epoch from b);
END $$
"""

CASES = {
    "points_wallet (a consumer's wallet)": (
        "SELECT a.id INTO w FROM public.points_account a WHERE a.kind = 'consumer_wallet'"
        " AND a.merchant_id IS NULL AND a.consumer_id = -1 AND a.ref = '';",
        "w := public.points_wallet(-1, n);",
    ),
    "campaigns_claim_limit (a consumer's limits, with both set)": (
        "PERFORM pg_advisory_xact_lock(hashtextextended('claim-limit:s:1:-1', 0));"
        " IF 1000 <= (SELECT count(*) FROM campaigns_claim k WHERE k.campaign_id = 1"
        " AND k.consumer_id = -1) THEN RAISE EXCEPTION 'no'; END IF;"
        " IF 1000 <= (SELECT count(*) FROM campaigns_claim k WHERE k.campaign_id = 1"
        " AND k.consumer_id = -1 AND k.claimed_at > n - interval '1 day')"
        " THEN RAISE EXCEPTION 'no'; END IF;",
        "IF public.campaigns_claim_limit('s', 1, -1, n, 1000, 1000) IS NOT NULL"
        " THEN RAISE EXCEPTION 'no'; END IF;",
    ),
    "campaigns_claimable (the campaign pays now)": (
        "IF NOT (s = 'active' AND (st IS NULL OR n >= st) AND (en IS NULL OR n < en))"
        " THEN RAISE EXCEPTION 'no'; END IF;",
        "IF NOT public.campaigns_claimable(s, st, en, n) THEN RAISE EXCEPTION 'no'; END IF;",
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ["DATABASE_URL"]
    with psycopg.connect(url) as conn:
        notices: list[str] = []
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        # Rolled back at the end; a wallet of a consumer who does not exist (no FK checks).
        conn.execute("SET LOCAL session_replication_role = replica")
        for helper in HELPERS:
            conn.execute((ROOT / helper).read_text())
        # A merchant's claims table, as the limits read it (the temporary schema comes
        # first on the search path).
        conn.execute(
            "CREATE TEMP TABLE campaigns_claim (campaign_id bigint, consumer_id bigint,"
            " claimed_at timestamptz)"
        )
        conn.execute(
            "INSERT INTO public.points_account (kind, consumer_id, ref, balance, materialized,"
            " created_at) VALUES ('consumer_wallet', -1, '', 0, true, now())"
        )
        for name, (inline, helper) in CASES.items():
            extra = []
            for _run in range(3):
                notices.clear()
                conn.execute(LOOP.format(calls=args.calls, inline=inline, helper=helper))
                found = re.search(r"RESULT (\S+) (\S+)", " ".join(notices))
                assert found, notices
                written, called = float(found[1]), float(found[2])
                extra.append((called - written) / args.calls * 1e6)
            print(f"{name}: {', '.join(f'{e:+.2f}' for e in extra)} us per call over written out")
        conn.rollback()


if __name__ == "__main__":
    main()
