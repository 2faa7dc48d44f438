"""The address picker's data (frontend/consumer/views.regions_json, decision 0240)."""

from __future__ import annotations

import gzip
import json

from django.test import Client


def test_the_provinces_then_one_provinces_cities_and_districts_small_and_cached() -> None:
    client = Client()
    provinces = client.get("/regions/").json()
    assert len(provinces) == 34 and ["440000", "广东省"] in provinces

    answer = client.get("/regions/440000", HTTP_ACCEPT_ENCODING="gzip")
    assert answer["Content-Encoding"] == "gzip"
    assert "max-age=604800" in answer["Cache-Control"] and "public" in answer["Cache-Control"]
    assert len(answer.content) < 3_000  # a province at a time: never the whole country
    cities = json.loads(gzip.decompress(answer.content))
    shenzhen = next(city for city in cities if city[1] == "深圳市")
    assert ["440305", "南山区"] in shenzhen[2]


def test_a_municipality_without_cities_is_its_own_city_and_other_codes_are_404() -> None:
    client = Client()
    [[code, name, districts]] = client.get("/regions/810000").json()  # 香港: districts only
    assert (code, name) == ("810000", "香港特别行政区") and len(districts) == 18
    assert client.get("/regions/440300").status_code == 404  # a city, not a province
    assert client.get("/regions/999999").status_code == 404
