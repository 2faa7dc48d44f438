"""The operators' admin for consumers (issue 24): found as support hears a number, shown
masked, with no staff-only fields, and one support page with everything about them."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Consent, User
from redemption.tests.helpers import new_consumer

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client: Client) -> Client:
    staff = User.objects.create_superuser("ops-admin@example.com", "pw-123456789")
    client.force_login(staff)
    return client


def _found(operator: Client, term: str) -> str:
    answer = operator.get(reverse("admin:accounts_user_changelist"), {"q": term})
    assert answer.status_code == 200
    return answer.content.decode()


def test_a_consumer_is_found_by_the_local_number_or_its_last_four_digits(
    operator: Client,
) -> None:
    """Fails if the search again needs the E.164 form (+86…) support never hears."""
    consumer = new_consumer()
    assert consumer.phone is not None
    other = new_consumer()
    assert other.phone is not None
    local = consumer.phone.removeprefix("+86")
    change = reverse("admin:accounts_user_change", args=[consumer.pk])
    other_change = reverse("admin:accounts_user_change", args=[other.pk])
    for term in (local, f"{local[:3]} {local[3:7]} {local[7:]}", consumer.phone, local[-4:]):
        page = _found(operator, term)
        assert change in page, term
        if term != local[-4:] or other.phone[-4:] != local[-4:]:
            assert other_change not in page, term
    assert local not in _found(operator, local[-4:])  # listed masked, never in full


def test_a_consumer_has_no_password_or_group_fields_and_links_to_support(
    operator: Client,
) -> None:
    consumer = new_consumer()
    assert consumer.phone is not None
    page = operator.get(reverse("admin:accounts_user_change", args=[consumer.pk])).content.decode()
    assert 'name="groups"' not in page and 'name="password"' not in page
    assert 'name="is_superuser"' not in page and 'name="is_staff"' not in page
    assert consumer.phone not in page and consumer.masked_phone in page
    assert reverse("admin-consumer-support", args=[consumer.pk]) in page
    staff_page = operator.get(
        reverse(
            "admin:accounts_user_change", args=[User.objects.get(email="ops-admin@example.com").pk]
        )
    ).content.decode()
    assert 'name="groups"' in staff_page  # staff keep theirs


def test_the_support_page_shows_the_consumer_masked_with_wallet_sessions_and_consents(
    operator: Client,
) -> None:
    consumer = new_consumer()
    assert consumer.phone is not None
    Consent.objects.create(user=consumer, document="privacy", version="2026-01", channel="phone")
    answer = operator.get(
        reverse("admin-consumer-support", args=[consumer.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    page = answer.content.decode()
    assert answer.status_code == 200
    assert consumer.masked_phone in page and consumer.phone not in page
    headings = ("钱包：最近的积分变动", "订单", "登录会话", "同意记录", "个人信息请求")  # noqa: RUF001
    for heading in headings:
        assert heading in page, heading
    assert "2026-01" in page
    assert "积分平台运营后台" in page  # the site header


def test_the_support_page_is_for_consumers_and_operators_only(
    operator: Client, client: Client
) -> None:
    staff = User.objects.get(email="ops-admin@example.com")
    assert operator.get(reverse("admin-consumer-support", args=[staff.pk])).status_code == 404
    client.logout()
    consumer = new_consumer()
    assert client.get(reverse("admin-consumer-support", args=[consumer.pk])).status_code == 302
