"""Scans, claims, consumers and diversion by region or by dealer, and diversions listed.

One statement each, over the scan events of the last ``days`` (their BRIN index on time
reads only that range) in the merchant's schema. A scan is diverted when its code and
region have a diversion row; consumers are the distinct signed-in ones (a scan without a
sign-in names a device, not a person: decision 0204).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import ScanSource, UserAgentClass
from campaigns.scan.stats import check_window
from core import regions
from core.db import rows

MAX_DAYS = 366


class Grouping(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    DEALER = "dealer"


# The key of a region at a level: its province's or city's six-digit code.
_KEY = {
    Grouping.PROVINCE: "left({0}, 2) || '0000'",
    Grouping.CITY: "left({0}, 4) || '00'",
}


@dataclass(frozen=True)
class Row:
    key: str  # a GB/T 2260 code, or a dealer's id
    name: str
    scans: int
    claims: int
    consumers: int
    diverted_scans: int

    @property
    def diversion_share(self) -> float:
        return self.diverted_scans / self.scans if self.scans else 0.0


@dataclass(frozen=True)
class DiversionTotal:
    key: str
    name: str
    diversions: int  # codes seen outside their dealer's regions (per region)
    scans: int
    precise: int  # of those diversions, located by a consented location at least once
    refused: int


def since(days: int) -> datetime:
    return timezone.now() - timedelta(days=check_window(days, MAX_DAYS, "days"))


def region_name(code: str) -> str:
    return regions.full_name(code) or code


_COUNTS = f"""
       count(*),
       count(*) FILTER (WHERE e.source = '{ScanSource.CLAIM.value}' AND e.outcome = 'claimed'),
       count(DISTINCT e.consumer_id),
       count(v.id)
  FROM campaigns_scanevent e
  LEFT JOIN dealers_diversionevent v ON v.code = e.code AND v.region = e.region
"""
_PEOPLE = f"e.scanned_at >= %s AND e.agent <> '{UserAgentClass.CRAWLER.value}'"
_BY_DEALER = f"""
SELECT d.id::text, d.name, {_COUNTS}
  JOIN campaigns_code c ON c.code = e.code
  JOIN dealers_dealerassignment a
    ON a.batch_id = c.batch_id AND c.serial BETWEEN a.first_serial AND a.last_serial
  JOIN dealers_dealer d ON d.id = a.dealer_id
 WHERE {_PEOPLE}
 GROUP BY d.id, d.name
 ORDER BY count(*) DESC, d.id
"""


def scan_stats(grouping: Grouping, days: int) -> list[Row]:
    """Scans of people (not crawlers) grouped by where they were or whose goods they were."""
    start = since(days)
    if grouping is Grouping.DEALER:
        found = rows.fetch_all(_BY_DEALER, [start])
        return [Row(*row) for row in found]
    key = _KEY[grouping].format("e.region")
    found = rows.fetch_all(
        f"SELECT {key}, {_COUNTS} WHERE {_PEOPLE} AND e.region <> '' GROUP BY 1 ORDER BY 2 DESC, 1",
        [start],
    )
    return [Row(k, region_name(k), *counts) for k, *counts in found]


def diversion_totals(grouping: Grouping, days: int) -> list[DiversionTotal]:
    """Diversions first seen in the last ``days``, by province, city or dealer."""
    start = since(days)
    if grouping is Grouping.DEALER:
        key, name, group = "d.id::text", "d.name", "d.id, d.name"
        join = "JOIN dealers_dealer d ON d.id = v.dealer_id"
    else:
        key = _KEY[grouping].format("v.region")
        name, join, group = "''", "", "1"
    found = rows.fetch_all(
        f"SELECT {key}, {name}, count(*), sum(v.scans), "
        f"count(*) FILTER (WHERE NOT v.approximate), count(*) FILTER (WHERE v.refused) "
        f"FROM dealers_diversionevent v {join} "
        f"WHERE v.first_scanned_at >= %s GROUP BY {group} ORDER BY 3 DESC, 1",
        [start],
    )
    return [
        DiversionTotal(k, n or region_name(k), count, int(scans), precise, refused)
        for k, n, count, scans, precise, refused in found
    ]


def stats_csv(grouping: Grouping, days: int) -> str:
    """The stats as CSV, headed in the merchant's language (UTF-8 with a BOM for Excel)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Code") if grouping is not Grouping.DEALER else _("Dealer ID"),
            _("Name"),
            _("Scans"),
            _("Claims"),
            _("Unique consumers"),
            _("Diverted scans"),
            _("Diversion share"),
        ]
    )
    for row in scan_stats(grouping, days):
        writer.writerow(
            [
                row.key,
                row.name,
                row.scans,
                row.claims,
                row.consumers,
                row.diverted_scans,
                f"{row.diversion_share:.4f}",
            ]
        )
    return out.getvalue()
