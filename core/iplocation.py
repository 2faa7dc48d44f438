"""The region of an IP address, offline: ip2region's data file, read by us (decision 0199).

The data is the ``ip2region.xdb`` shipped in the ``XdbSearchIP`` package (ip2region's
2022 data, Apache-2.0): IPv4 ranges with ``国家|区域|省份|城市|ISP``. We read the file
ourselves (the format is three tables of little-endian integers) rather than import the
package's searcher, which imports itself by a name that does not resolve when installed.
No network lookup at run time.

A city is the best it knows, and for mobile networks often only the province or the
carrier's gateway city: every answer is **approximate**. The answer is a GB/T 2260
division of ``core.regions`` (the city, or the province when the city is unknown), with
its centroid as the approximate point.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from core import regions

_HEADER = 256
_VECTOR_COLS = 256
_VECTOR_SIZE = 8
_SEGMENT_SIZE = 14
CHINA = "中国"


@dataclass(frozen=True)
class IpRegion:
    code: str  # six digits, GB/T 2260: a city, or a province
    latitude: float
    longitude: float


def _data_file() -> Path:
    spec = importlib.util.find_spec("XdbSearchIP")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The XdbSearchIP package (ip2region's data) is not installed.")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "ip2region.xdb"


@cache
def _content() -> bytes:
    return _data_file().read_bytes()


def describe(ip: str) -> str | None:
    """ip2region's ``国家|区域|省份|城市|ISP`` for an IPv4 address, or None."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if address.version != 4:
        return None
    value = int(address)
    data = _content()
    vector = _HEADER + ((value >> 24) * _VECTOR_COLS + ((value >> 16) & 0xFF)) * _VECTOR_SIZE
    start, end = struct.unpack_from("<II", data, vector)
    low, high = 0, (end - start) // _SEGMENT_SIZE
    while low <= high:
        middle = (low + high) // 2
        first, last, length, pointer = struct.unpack_from(
            "<IIHI", data, start + middle * _SEGMENT_SIZE
        )
        if value < first:
            high = middle - 1
        elif value > last:
            low = middle + 1
        else:
            return data[pointer : pointer + length].decode("utf-8")
    return None


def _short(province: str) -> str:
    """ip2region names provinces without their suffix at times (北京, 广西): the first two
    characters tell every province apart (内蒙古 and 黑龙江 too)."""
    return province[:2]


@cache
def _by_name() -> dict[tuple[str, str], regions.Division]:
    """(a province's first two characters, city name or "") → division."""
    named: dict[tuple[str, str], regions.Division] = {}
    for province in regions.provinces():
        named[(_short(province.name), "")] = province
        for city in regions.children(province.code):
            named.setdefault((_short(province.name), city.name), city)
    return named


def region_of(ip: str | None) -> IpRegion | None:
    """The city (or province) in China an address is registered in, or None."""
    if not ip:
        return None
    found = describe(ip)
    if found is None:
        return None
    parts = found.split("|")
    if len(parts) < 4 or parts[0] != CHINA or parts[2] in {"", "0"}:
        return None
    province, city = _short(parts[2]), parts[3]
    named = _by_name()
    division = named.get((province, city)) or named.get((province, ""))
    if division is None or division.latitude is None or division.longitude is None:
        return None
    return IpRegion(division.code, division.latitude, division.longitude)
