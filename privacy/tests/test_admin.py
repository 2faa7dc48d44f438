"""Operators see and process deletion requests in the admin (the real admin views)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from privacy.models import ErasureRequest
from tests.fixtures.tenants import staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client: Client) -> Client:
    operator = staff_user("privacy-operator@example.com")
    User.objects.filter(pk=operator.pk).update(is_staff=True, is_superuser=True)
    client.force_login(User.objects.get(pk=operator.pk))
    return client


def test_operators_list_cancel_and_carry_out_deletions_in_chinese(
    operator_client: Client, consumer: User, new_phone: object
) -> None:
    waiting = ErasureRequest.objects.create(
        user=consumer, erase_after=timezone.now() + timedelta(days=15)
    )
    other, _ = User.objects.get_or_create_consumer(new_phone())  # type: ignore[operator]
    due = ErasureRequest.objects.create(user=other, erase_after=timezone.now() - timedelta(days=1))
    url = "/admin/privacy/erasurerequest/"
    page = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    html = page.content.decode()
    assert "注销账户申请" in html and "冷静期" in html

    cancelled = operator_client.post(
        url, {"action": "cancel_requests", "_selected_action": [waiting.pk]}, follow=True
    )
    assert cancelled.status_code == 200
    waiting.refresh_from_db()
    assert waiting.status == ErasureRequest.Status.CANCELLED
    assert waiting.cancelled_by.startswith("operator ")

    operator_client.post(
        url, {"action": "erase_due_now", "_selected_action": [due.pk, waiting.pk]}, follow=True
    )
    due.refresh_from_db()
    other.refresh_from_db()
    assert due.status == ErasureRequest.Status.DONE and other.phone is None
    waiting.refresh_from_db()
    assert waiting.status == ErasureRequest.Status.CANCELLED  # not carried out
