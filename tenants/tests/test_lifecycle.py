"""Operators approve, suspend and reinstate merchants; no other status move exists."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from core.errors import DomainError
from tenants.errors import MerchantNotActive
from tenants.lifecycle import change_status
from tenants.models import Merchant, MerchantStatus
from tenants.onboarding import create_merchant


@pytest.fixture
def pending(committed_db: None, unique: Callable[[str], str]) -> Merchant:
    # Onboarding creates a schema: committed, as every test that onboards does.
    return create_merchant(slug=unique("life"), name="Life Tea", status=MerchantStatus.PENDING)


def test_approve_suspend_reinstate(pending: Merchant) -> None:
    with pytest.raises(MerchantNotActive):
        pending.ensure_can_award()
    change_status(pending, MerchantStatus.ACTIVE)
    pending.refresh_from_db()
    pending.ensure_can_award()  # active: awards
    change_status(pending, MerchantStatus.SUSPENDED)
    pending.refresh_from_db()
    with pytest.raises(MerchantNotActive) as exc:
        pending.ensure_can_award()
    assert exc.value.code == "MERCHANT_SUSPENDED"
    change_status(pending, MerchantStatus.ACTIVE)
    assert Merchant.objects.get(pk=pending.pk).status == MerchantStatus.ACTIVE


def test_no_other_move_and_repeats_change_nothing(pending: Merchant) -> None:
    with pytest.raises(DomainError) as exc:
        change_status(pending, MerchantStatus.SUSPENDED)  # never approved
    assert exc.value.code == "INVALID_STATUS_CHANGE"
    assert Merchant.objects.get(pk=pending.pk).status == MerchantStatus.PENDING
    change_status(pending, MerchantStatus.ACTIVE)
    change_status(pending, MerchantStatus.ACTIVE)  # already there: nothing to do
    with pytest.raises(DomainError):
        change_status(pending, MerchantStatus.PENDING)  # no way back to pending
    assert Merchant.objects.get(pk=pending.pk).status == MerchantStatus.ACTIVE


def test_operator_actions_in_the_admin(pending: Merchant, unique: Callable[[str], str]) -> None:
    operator = User.objects.create_superuser(f"{unique('op')}@platform.test", "op-password-1")
    client = Client()
    client.force_login(operator)
    changelist = reverse("admin:tenants_merchant_changelist")

    def act(action: str) -> None:
        # (Approving asks to confirm first: "confirm" is the confirmation page's answer.)
        chosen = {"action": action, "_selected_action": [pending.pk], "confirm": "yes"}
        response = client.post(changelist, chosen, follow=True)
        assert response.status_code == 200

    act("suspend")  # a pending merchant cannot be suspended: refused, unchanged
    assert Merchant.objects.get(pk=pending.pk).status == MerchantStatus.PENDING
    act("approve")
    assert Merchant.objects.get(pk=pending.pk).status == MerchantStatus.ACTIVE
    act("suspend")
    assert Merchant.objects.get(pk=pending.pk).status == MerchantStatus.SUSPENDED
    act("reinstate")
    assert Merchant.objects.get(pk=pending.pk).status == MerchantStatus.ACTIVE
    # The status is not editable on the merchant's page.
    page = client.get(reverse("admin:tenants_merchant_change", args=[pending.pk]))
    assert page.status_code == 200
    assert b'name="status"' not in page.content


def test_operator_records_a_top_up_once(pending: Merchant, unique: Callable[[str], str]) -> None:
    from points import ledger
    from points.models import Account

    operator = User.objects.create_superuser(f"{unique('op')}@platform.test", "op-password-1")
    client = Client()
    client.force_login(operator)
    url = reverse("admin:tenants_merchant_top_up", args=[pending.pk])
    assert client.get(url).status_code == 200
    reference = unique("wire")
    form = {"amount": "12.34", "currency": "cny", "rate": "100", "payment_reference": reference}
    # An application is not funded: money for a merchant that may be declined has no way back.
    refused = client.post(url, form)
    assert refused.status_code == 200 and b"under review" in refused.content
    assert not Account.objects.filter(merchant_id=pending.pk).exists()
    change_status(pending, MerchantStatus.ACTIVE)
    for _ in range(2):  # the operator submits twice: one credit
        response = client.post(url, form)
        assert response.status_code == 302, response.content
    assert ledger.balance_of(ledger.merchant_budget(pending.pk)) == 1234
    refused = client.post(url, {**form, "currency": "JPY", "amount": "1.50"})
    assert refused.status_code == 200 and b"has no such fraction" in refused.content
    assert ledger.balance_of(ledger.merchant_budget(pending.pk)) == 1234


def test_consumers_are_found_by_full_number_and_shown_masked(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    operator = User.objects.create_superuser(f"{unique('op')}@platform.test", "op-password-1")
    phone = new_phone()
    consumer, _ = User.objects.get_or_create_consumer(phone)
    client = Client()
    client.force_login(operator)
    found = client.get(reverse("admin:accounts_user_changelist"), {"q": phone})
    assert found.status_code == 200
    assert consumer.masked_phone.encode() in found.content
    assert phone.encode() not in found.content.replace(b'value="' + phone.encode(), b"")
    page = client.get(reverse("admin:accounts_user_change", args=[consumer.pk]))
    assert consumer.masked_phone.encode() in page.content and phone.encode() not in page.content
