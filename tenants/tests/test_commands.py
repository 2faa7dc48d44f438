"""Management commands: ``ledger_check`` proves the ledger, ``create_merchant`` onboards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from accounts.models import User
from core.db import connection
from points import ledger, services
from points.audit import CHECKS
from points.models import Lot
from tenants.models import Membership, Merchant, MerchantStatus, Role
from tenants.provisioning import schema_exists, schema_for


@pytest.fixture(autouse=True)
def _test_database_only(django_db_setup: None) -> None:
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), f"refusing to commit into {name!r}"


@pytest.fixture
def activity(db: None, tenants, unique: Callable[[str], str], consumer: User) -> User:
    """Some of everything: funding, a reserve, an award, a spend, a reversal, an expiry."""
    acme = tenants.acme
    services.fund_with_money(
        acme, amount_minor=5_000, currency="CNY", rate="100", payment_reference=unique("pay")
    )
    services.reserve(acme, "check", 1_000, idempotency_key=unique("reserve"))
    award = services.award(acme, "check", consumer, 300, idempotency_key=unique("award"))
    spend = services.spend(consumer, 100, idempotency_key=unique("spend"))
    services.reverse(spend, idempotency_key=unique("reverse"))
    lot = Lot.objects.get(source=award)
    services.expire_lot(lot.pk, now=lot.expires_at + timedelta(seconds=1))
    return consumer


def ledger_check() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("ledger_check", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failing_ledger_check() -> str:
    err = StringIO()
    with pytest.raises(CommandError, match="ledger check failed"):
        call_command("ledger_check", stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_ledger_check_passes_on_a_consistent_ledger(activity: User) -> None:
    out, err = ledger_check()
    assert "ledger is consistent" in out
    for name, _sql in CHECKS:
        assert f"ok   {name}" in out
    assert err == ""


def test_ledger_check_fails_when_a_balance_is_corrupted(tenants, activity: User) -> None:
    budget = ledger.merchant_budget(tenants.acme.pk)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE points_account SET balance = balance + 1 WHERE id = %s", [budget.pk])

    err = failing_ledger_check()

    assert "FAIL materialised balance equals its entries" in err
    assert f"({budget.pk}," in err


def test_ledger_check_fails_when_a_wallet_disagrees_with_its_lots(activity: User) -> None:
    lot = Lot.objects.filter(consumer=activity).first()
    assert lot is not None
    Lot.objects.filter(pk=lot.pk).update(remaining=F("remaining") + 1)

    err = failing_ledger_check()

    assert "FAIL wallet balance equals its open lots" in err
    assert "FAIL lot remaining equals points less what was taken" in err


# --- create_merchant ---------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["Bad_Slug", "public", "a--b", "9lives", "ab"])
def test_create_merchant_command_refuses_a_bad_slug(db: None, tenants, slug: str) -> None:
    merchants = Merchant.objects.count()
    with pytest.raises(CommandError, match="INVALID_SLUG"):
        call_command("create_merchant", slug, "--name", "Bad", stdout=StringIO())
    assert Merchant.objects.count() == merchants


def test_create_merchant_command_needs_a_password_for_a_new_owner(
    db: None, tenants, unique
) -> None:
    slug = unique("cmd")
    with pytest.raises(CommandError, match="--owner-password"):
        call_command(
            "create_merchant",
            slug,
            "--name",
            "No Password",
            "--owner-email",
            f"{unique('new')}@shop.test",
            stdout=StringIO(),
        )
    assert not Merchant.objects.filter(slug=slug).exists()


def test_create_merchant_command_onboards_and_refuses_a_taken_slug(
    committed_db: None, unique
) -> None:
    slug, email = unique("cmd"), f"{unique('boss')}@shop.test"
    out = StringIO()

    call_command(
        "create_merchant",
        slug,
        "--name",
        "Command Tea",
        "--owner-email",
        email.upper(),
        "--owner-password",
        "a-long-password",
        "--status",
        MerchantStatus.PENDING,
        "--points-expiry-days",
        "90",
        stdout=out,
    )

    # Pending: an application, as a sign-up makes; its schema comes with the approval.
    assert f"recorded the application of {slug} (no schema until approved)" in out.getvalue()
    merchant = Merchant.objects.get(slug=slug)
    assert merchant.provisioned_at is None
    assert not schema_exists(schema_for(slug))
    assert (merchant.name, merchant.status, merchant.points_expiry_days) == (
        "Command Tea",
        MerchantStatus.PENDING,
        90,
    )
    owner = User.objects.get(email=email)
    assert owner.check_password("a-long-password")
    assert Membership.objects.get(merchant=merchant, user=owner).role == Role.OWNER

    with pytest.raises(CommandError, match="SLUG_TAKEN"):
        call_command("create_merchant", slug, "--name", "Again", stdout=StringIO())
    assert Merchant.objects.filter(slug=slug).count() == 1
