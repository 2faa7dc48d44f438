"""Claims/s through the multi-host topology, with 1, 2 and 3 application hosts.

    uv run python bench/topology.py [--claims 3000] [--clients 16]

Every host is a network namespace on this one machine (deploy/topology.py): HAProxy in
front, PgBouncer in transaction pooling behind, one Celery worker host. The hosts share
the same two cores, so more hosts cannot be faster here: the figure shows what the
topology costs (the balancer's and the pool's hops, the per-transaction search path)
against the single-server line of ``bench/claims.py``, not a speed-up. Needs root,
haproxy, pgbouncer and wrk. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import claims
import harness

from deploy.topology import Topology

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_topology"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"


class Balancer:
    """What ``harness.load`` needs of a server: a port, and the processes it meters."""

    def __init__(self, topology: Topology) -> None:
        self.port = topology.web_port
        self.topology = topology

    def worker_pids(self) -> list[int]:
        hosts = self.topology.hosts
        groups = [str(h.processes["web"].pid) for h in hosts if "web" in h.processes]
        done = subprocess.run(["pgrep", "-g", ",".join(groups)], capture_output=True, text=True)
        return [int(pid) for pid in done.stdout.split()]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=3_000, help="claims per host count")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--hosts", default="1,2,3", help="application host counts to run")
    parser.add_argument("--max-seconds", type=float, default=60)
    args = parser.parse_args()
    counts = [int(n) for n in args.hosts.split(",")]
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    setup_args = argparse.Namespace(
        rounds=len(counts), claims=args.claims, pgbench_claims=0, clients=args.clients,
        consumers=max(100, args.claims // 60), webhooks="off",
    )  # fmt: skip
    print(f"settings: {vars(args)}; load average {harness.load_average()}", flush=True)
    rows = []
    with harness.bench_resources(url, redis_url, keep=False, prefix="bench-topology"):
        setup = claims.set_up(url, redis_url, setup_args, "http://127.0.0.1:9/hook")
        redis_db = int(redis_url.rsplit("/", 1)[1])
        for n, hosts in enumerate(counts):
            base = Path(tempfile.mkdtemp(prefix="bench-topology-"))
            base.chmod(0o755)
            with Topology(
                base, harness.database_name(url), app_hosts=hosts, worker_hosts=1,
                redis_db=redis_db,
                env={"CACHE_KEY_PREFIX": claims.CACHE_PREFIX, "DEBUG": "0"},
            ) as topology:  # fmt: skip
                balancer = Balancer(topology)
                work = claims.claim_bodies(setup, n * args.claims, args.claims)
                result = harness.load(
                    balancer,
                    work,
                    args.clients,
                    args.max_seconds,
                    claims.JUDGE,
                    system=f"{hosts} application host(s)",
                )
                print(harness.describe(result, "claim"), flush=True)
                rows.append((f"{hosts} application host(s)", [result]))
                time.sleep(0.5)
    print()
    print(harness.render_table(rows, "claim"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
