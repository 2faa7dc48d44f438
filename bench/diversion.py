"""The CPU a located claim and a drained scan pay for diversion (issue 22), no database.

A claim sent with a consented location, for a campaign that refuses, runs one indexed
query and then ``dealers.diversion.outside``: the districts within 10 km of the point
(a pass over the ~2,900 district centroids, as ``core.regions.nearest`` already makes
for the event's district). The drainer checks each located event with
``dealers.models.covers``. This times both in-process, p50 and p95 over random points in
China, so that the refusal path's Python cost is a figure, not a guess.

Run from the project root::

    uv run python bench/diversion.py [--points 2000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from core import regions  # noqa: E402
from dealers.diversion import outside  # noqa: E402
from dealers.models import covers  # noqa: E402


def timed(label: str, runs: list[Callable[[], object]]) -> None:
    """p50 and p95 of one call each of ``runs``."""
    samples = []
    for run in runs:
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[int(len(samples) * 0.95)]
    print(f"{label:<44} p50 {statistics.median(samples):7.3f} ms   p95 {p95:7.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(22)
    # Points near real districts (a centroid moved up to 0.2°), as phones in towns are.
    districts = [
        (d.code, d.latitude, d.longitude)
        for d in regions._districts_with_centroids()
        if d.latitude is not None and d.longitude is not None
    ]
    points: list[tuple[float, float]] = []
    for _ in range(args.points):
        _code, latitude, longitude = rng.choice(districts)
        points.append((latitude + rng.uniform(-0.2, 0.2), longitude + rng.uniform(-0.2, 0.2)))
    sales = ["440000", "110100", "310101"]  # a province, a city, a district
    regions.nearest(*points[0])  # load the data once
    print(f"{len(districts)} districts with a centroid, {args.points} points")
    timed("nearest district (every located event)", [partial(regions.nearest, *p) for p in points])
    timed(
        "outside(), 10 km margin (a refusing claim)", [partial(outside, sales, *p) for p in points]
    )
    codes = [rng.choice(districts)[0] for _ in range(args.points)]
    timed("covers() (each located event drained)", [partial(covers, sales, c) for c in codes])


if __name__ == "__main__":
    main()
