"""The masked phone merchants see is one rule in two places: ``accounts.models.mask_phone``
and its SQL copy ``public.accounts_mask_phone`` (accounts/sql/accounts_mask_phone.sql),
which the claim's statement uses for its code.claimed event (decision 0345). The sweep
holds the two alike on every length a phone column can hold, and is shown to fail on a
planted difference."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import User, mask_phone

SQL_FILE = "accounts/sql/accounts_mask_phone.sql"

# Every length the column allows, with and without a country code, and what no phone is.
PHONES = [
    None,
    *("+8613800138000"[:n] for n in range(User._meta.get_field("phone").max_length or 16)),
    "13800138000",
    "+852 9123 4567",
    "+861380013800099",
]


def _differences() -> list[tuple[str | None, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p, public.accounts_mask_phone(p) FROM unnest(%s::text[]) AS p", [PHONES]
        )
        masked = cursor.fetchall()
    assert [phone for phone, _sql in masked] == PHONES  # every phone was asked
    return [(phone, sql, mask_phone(phone or "")) for phone, sql in masked
            if sql != mask_phone(phone or "")]  # fmt: skip


@pytest.mark.django_db
def test_the_sql_mask_is_the_python_mask() -> None:
    assert _differences() == []
    # What it is for: a real phone keeps its country code and last four digits only.
    assert mask_phone("+8613800138000") == "+86138****8000"


@pytest.mark.django_db
def test_the_sweep_fails_on_a_planted_mask() -> None:
    """The SQL copy showing five digits at the end: every phone of eight or more differs."""
    with open(SQL_FILE) as sql:
        planted = sql.read().replace("right(p_phone, 4)", "right(p_phone, 5)")
    assert "right(p_phone, 5)" in planted
    with connection.cursor() as cursor:
        cursor.execute(planted)  # rolled back with the test's transaction
    differing = [phone for phone, _sql, _python in _differences()]
    assert differing == [p for p in PHONES if p is not None and len(p) >= 8]
