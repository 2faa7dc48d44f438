"""The region of an IP address from ip2region's offline data (core.iplocation, decision 0199)."""

from __future__ import annotations

import pytest

from core import iplocation


@pytest.mark.parametrize(
    ("ip", "region"),
    [
        ("202.106.0.20", "110100"),  # 北京 (the data says 北京, GB/T 2260 北京市): the city row
        ("202.96.134.133", "440300"),  # 广东省深圳市
        ("61.139.2.69", "510100"),  # 四川省成都市
        ("221.0.0.1", "370100"),  # 山东省济南市
    ],
)
def test_a_chinese_address_has_its_city(ip: str, region: str) -> None:
    found = iplocation.region_of(ip)
    assert found is not None and found.code == region
    assert 18 < found.latitude < 54 and 73 < found.longitude < 135  # inside China


@pytest.mark.parametrize("ip", ["8.8.8.8", "127.0.0.1", "10.1.2.3", "::1", "not an ip", "", None])
def test_no_region_outside_china_for_private_or_malformed_addresses(ip: str | None) -> None:
    assert iplocation.region_of(ip) is None


def test_every_province_name_of_the_data_maps_to_a_division() -> None:
    # ip2region writes some provinces without their suffix (北京, 内蒙古); the first two
    # characters tell all 34 apart. A planted clash would shrink the map below 34.
    assert len({key for key, city in iplocation._by_name() if city == ""}) == 34
