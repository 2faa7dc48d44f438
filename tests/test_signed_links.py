"""The one helper for signed, expiring download links (core/signed_links.py).

The links themselves are tested where they are used (batch and questionnaire exports,
settlements, analytics and liability CSV files); here, what every link shares.
"""

from __future__ import annotations

import pytest
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from core.signed_links import SignedLink, csv_attachment
from tests.fixtures.api import signed_ago

LINK = SignedLink(salt="tests.signed", url_name="analytics-csv", fields={"m": int, "f": str})
OTHER = SignedLink(salt="tests.other", url_name="analytics-csv", fields={"m": int, "f": str})


def _view(request: HttpRequest, merchant_id: int, name: str) -> HttpResponse:
    return HttpResponse(f"{merchant_id}:{name}")


VIEW = LINK.view(_view)


def _get(token: str, method: str = "get") -> HttpResponse:
    request = getattr(RequestFactory(), method)(f"/x/{token}/")
    response = VIEW(request, token)
    assert isinstance(response, HttpResponse)  # _view and the refusals answer plainly
    return response


def test_a_token_gives_back_its_values_and_only_for_its_own_kind() -> None:
    token = LINK.token(7, "2021-03-01")
    assert LINK.read(token) == (7, "2021-03-01")
    assert _get(token).content == b"7:2021-03-01"
    with pytest.raises(signing.BadSignature):
        OTHER.read(token)
    assert LINK.path(7, "x").startswith("/reports/analytics/")


def test_values_must_match_the_declared_fields() -> None:
    for values in ((7,), (7, "x", "y"), ("7", "x"), (True, "x"), (7, 8)):
        with pytest.raises(TypeError):
            LINK.token(*values)
    # A token signed with the right salt but the wrong shape is not valid either.
    for data in ({"m": 7}, {"m": "7", "f": "x"}, {"m": True, "f": "x"}, [7, "x"]):
        token = signing.dumps(data, salt=LINK.salt)
        with pytest.raises(signing.BadSignature):
            LINK.read(token)
        assert _get(token).status_code == 403


def test_refusals_are_403_for_a_bad_token_and_410_for_an_expired_one() -> None:
    token = LINK.token(7, "x")
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "garbage", OTHER.token(7, "x")):
        response = _get(bad)
        assert response.status_code == 403
        assert response.content == b"This download link is not valid.\n"
        assert response["Cache-Control"] == "no-store"
    expired = _get(signed_ago(LINK, LINK.ttl + 1, 7, "x"))
    assert expired.status_code == 410
    assert b"has expired" in expired.content and expired["Cache-Control"] == "no-store"
    assert _get(signed_ago(LINK, LINK.ttl - 5, 7, "x")).status_code == 200
    assert _get(token, "post").status_code == 405


def test_csv_files_start_with_a_byte_order_mark_and_are_not_cached() -> None:
    response = csv_attachment("a,b\n茶,1\n", "x.csv")
    assert response.content == "\ufeffa,b\n茶,1\n".encode()
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert response["Cache-Control"] == "private, no-store"
