"""China's administrative divisions from the shipped dataset (core.regions)."""

from __future__ import annotations

import itertools

import pytest

from core import regions
from core.regions import Level


def test_every_province_and_its_chain() -> None:
    provinces = regions.provinces()
    # 23 provinces, 5 autonomous regions, 4 municipalities, 2 SARs; nothing else (the
    # dataset's 99xxxx border strip is not a GB/T 2260 division).
    assert len(provinces) == 34
    assert {p.name for p in provinces} >= {"北京市", "广东省", "新疆维吾尔自治区", "香港特别行政区"}
    assert all(p.level is Level.PROVINCE and p.parent is None for p in provinces)
    for division in (regions.division("440305"), regions.division("110108")):
        assert division is not None
        chain = regions.path(division.code)
        assert [d.level for d in chain] == [Level.PROVINCE, Level.CITY, Level.DISTRICT]
        assert all(child.parent == parent.code for parent, child in itertools.pairwise(chain))


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("440305", "广东省深圳市南山区"),
        ("110108", "北京市海淀区"),
        ("330106", "浙江省杭州市西湖区"),
    ],
)
def test_full_names(code: str, name: str) -> None:
    assert regions.full_name(code) == name


def test_children_are_below_their_parent() -> None:
    cities = regions.children("440000")
    assert "深圳市" in {c.name for c in cities}
    assert all(c.level is Level.CITY for c in cities)
    assert "南山区" in {d.name for d in regions.children("440300")}
    assert regions.children("999999") == []
    assert regions.division("999999") is None


@pytest.mark.parametrize(
    ("latitude", "longitude", "district"),
    [
        (22.53, 113.93, "440305"),  # Shenzhen, Nanshan
        (39.96, 116.30, "110108"),  # Beijing, Haidian
        (30.26, 120.13, "330106"),  # Hangzhou, West Lake
        (43.79, 87.63, "650102"),  # Urumqi, Tianshan
    ],
)
def test_nearest_district_of_known_points(latitude: float, longitude: float, district: str) -> None:
    assert regions.nearest(latitude, longitude).code == district


def test_distance() -> None:
    beijing, shanghai = (39.9042, 116.4074), (31.2304, 121.4737)
    assert 1060 < regions.distance_km(beijing, shanghai) < 1075
    assert regions.distance_km(beijing, beijing) == 0
