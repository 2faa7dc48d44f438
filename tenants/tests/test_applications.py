"""Applications: approval provisions (schema, budget) exactly once, or leaves the merchant
pending; rejection; the operators' desk; everything that visits merchant schemas skips
merchants that have none.

Approval creates schemas, so these tests commit (``committed_db``) with unique slugs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import Campaign
from campaigns.scan import codes
from core.db import connection
from points import ledger
from points.models import Account, AccountKind, Funding, TransactionKind
from tenants import onboarding, signup
from tenants.lifecycle import ProvisioningFailed, change_status
from tenants.models import Merchant, MerchantStatus
from tenants.provisioning import schema_exists
from tests.fixtures.api import Api, access_token
from tests.fixtures.concurrency import run_in_threads
from tests.fixtures.tenants import Tenants

PASSWORD = "Plum-blossom-1987"


@pytest.fixture(autouse=True)
def _test_database_only(django_db_setup: None) -> None:
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), f"refusing to commit into {name!r}"


@pytest.fixture
def apply_for(committed_db: None, unique: Callable[[str], str]) -> Callable[..., Merchant]:
    """A committed sign-up (``tenants.signup``): a pending merchant and its owner."""

    def make(**changes: Any) -> Merchant:
        slug = unique("app")
        fields = {
            "name": "Plum Blossom Teahouse",
            "slug": slug,
            "contact_email": f"{slug}@plum.test",
            "owner_name": "Li Mei",
            "password": PASSWORD,
            "language": "en",
            **changes,
        }
        return signup.sign_up(**fields)

    return make


def budgets(merchant: Merchant) -> int:
    return Account.objects.filter(kind=AccountKind.MERCHANT_BUDGET, merchant=merchant).count()


# --- Approval ------------------------------------------------------------------------------


def test_approval_provisions_the_schema_and_budget_and_emails_the_applicant(
    apply_for: Callable[..., Merchant], mailoutbox: list[Any], merchant_api: Api
) -> None:
    merchant = apply_for()
    operator = User.objects.create_superuser(f"op-{merchant.slug}@platform.test", "op-pass-1")
    assert not schema_exists(merchant.schema_name) and budgets(merchant) == 0

    approved = change_status(merchant, MerchantStatus.ACTIVE, by=operator)

    assert approved.status == MerchantStatus.ACTIVE
    assert approved.provisioned_at is not None
    assert (approved.reviewed_by, approved.reviewed_at is not None) == (operator, True)
    assert schema_exists(merchant.schema_name) and budgets(merchant) == 1
    [email] = mailoutbox
    assert email.to == [merchant.contact_email]
    assert email.subject == "Plum Blossom Teahouse is approved"
    assert "/console/sign-in/" in email.body and merchant.slug in email.body
    # The owner now works in the new schema like any merchant's staff.
    owner = User.objects.get(email=merchant.contact_email)
    created = merchant_api.query(
        'mutation { createScanCampaign(name: "First caps") { campaign { name } errors { code } } }',
        token=access_token(owner),
    )
    assert created["data"]["createScanCampaign"] == {
        "campaign": {"name": "First caps"},
        "errors": [],
    }
    with tenant_context(Merchant.objects.get(pk=merchant.pk)):
        assert list(Campaign.objects.values_list("name", flat=True)) == ["First caps"]


def test_approving_twice_provisions_once(
    apply_for: Callable[..., Merchant], mailoutbox: list[Any]
) -> None:
    merchant = apply_for()
    first = change_status(merchant, MerchantStatus.ACTIVE)
    again = change_status(Merchant.objects.get(pk=merchant.pk), MerchantStatus.ACTIVE)
    assert again.provisioned_at == first.provisioned_at
    assert budgets(merchant) == 1 and len(mailoutbox) == 1


def test_concurrent_approvals_provision_once(
    apply_for: Callable[..., Merchant], mailoutbox: list[Any]
) -> None:
    merchant = apply_for()

    results = run_in_threads(
        4, lambda i: change_status(Merchant.objects.get(pk=merchant.pk), MerchantStatus.ACTIVE)
    )

    assert [status for status, _value in results] == ["ok"] * 4, results
    assert len({value.provisioned_at for _status, value in results}) == 1
    assert schema_exists(merchant.schema_name) and budgets(merchant) == 1
    assert len(mailoutbox) == 1  # one move, one email


def test_a_failed_provisioning_leaves_the_application_pending(
    apply_for: Callable[..., Merchant], mailoutbox: list[Any]
) -> None:
    merchant = apply_for()
    # Something already holds the schema's name (say, a deleted merchant's leftover).
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{merchant.schema_name}"')
        cursor.execute(f'CREATE TABLE "{merchant.schema_name}".leftover (id int)')
    try:
        with pytest.raises(ProvisioningFailed) as exc:
            change_status(merchant, MerchantStatus.ACTIVE)
        assert exc.value.code == "PROVISIONING_FAILED"
        assert "stays pending" in exc.value.message

        merchant.refresh_from_db()
        assert (merchant.status, merchant.provisioned_at, merchant.reviewed_at) == (
            MerchantStatus.PENDING,
            None,
            None,
        )
        assert budgets(merchant) == 0 and mailoutbox == []
        with connection.cursor() as cursor:  # the leftover is untouched
            cursor.execute(f'SELECT count(*) FROM "{merchant.schema_name}".leftover')
            assert cursor.fetchone() == (0,)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{merchant.schema_name}" CASCADE')
    # Once the cause is fixed, the same approval goes through.
    assert change_status(merchant, MerchantStatus.ACTIVE).status == MerchantStatus.ACTIVE
    assert schema_exists(merchant.schema_name) and budgets(merchant) == 1


def test_create_merchant_is_an_application_approved_at_once(
    committed_db: None, unique: Callable[[str], str], mailoutbox: list[Any]
) -> None:
    merchant = onboarding.create_merchant(slug=unique("cli"), name="Command Tea")
    assert merchant.status == MerchantStatus.ACTIVE and merchant.provisioned_at is not None
    assert schema_exists(merchant.schema_name) and budgets(merchant) == 1
    assert mailoutbox == []  # the operator onboarding it is the one acting
    suspended = onboarding.create_merchant(
        slug=unique("cli"), name="Paused Tea", status=MerchantStatus.SUSPENDED
    )
    assert suspended.status == MerchantStatus.SUSPENDED and schema_exists(suspended.schema_name)


# --- Rejection -----------------------------------------------------------------------------


def test_a_rejected_application_is_told_why_and_never_provisioned(
    apply_for: Callable[..., Merchant], mailoutbox: list[Any], merchant_api: Api
) -> None:
    merchant = apply_for()
    operator = User.objects.create_superuser(f"op-{merchant.slug}@platform.test", "op-pass-1")

    change_status(
        merchant, MerchantStatus.REJECTED, by=operator, note=" We onboard tea merchants only. "
    )

    merchant.refresh_from_db()
    assert (merchant.status, merchant.provisioned_at, merchant.reviewed_by) == (
        MerchantStatus.REJECTED,
        None,
        operator,
    )
    assert merchant.review_note == "We onboard tea merchants only."
    assert not schema_exists(merchant.schema_name) and budgets(merchant) == 0
    [email] = mailoutbox
    assert email.to == [merchant.contact_email]
    assert email.subject == "Your application for Plum Blossom Teahouse"
    assert "Reason: We onboard tea merchants only." in email.body
    # Final: it cannot be approved afterwards, and its staff can do nothing.
    with pytest.raises(Exception) as exc:
        change_status(merchant, MerchantStatus.ACTIVE)
    assert getattr(exc.value, "code", None) == "INVALID_STATUS_CHANGE"
    assert not schema_exists(merchant.schema_name)
    owner = User.objects.get(email=merchant.contact_email)
    result = merchant_api.query("query { budget { available } }", token=access_token(owner))
    assert [(e["extensions"]["code"], e["message"]) for e in result["errors"]] == [
        ("MERCHANT_NOT_ACTIVE", "This merchant's application was declined.")
    ]


def test_the_decision_is_emailed_in_the_applicants_language(
    apply_for: Callable[..., Merchant], mailoutbox: list[Any]
) -> None:
    merchant = apply_for(language="zh-hans")
    change_status(merchant, MerchantStatus.REJECTED)
    [email] = mailoutbox
    assert email.subject == "您对 Plum Blossom Teahouse 的申请"


# --- The operators' desk -------------------------------------------------------------------


@pytest.fixture
def desk(committed_db: None, unique: Callable[[str], str]) -> Client:
    operator = User.objects.create_superuser(f"{unique('op')}@platform.test", "op-pass-1")
    client = Client()
    client.force_login(operator)
    return client


def test_the_desk_lists_pending_applications_with_the_applicants_details(
    apply_for: Callable[..., Merchant], desk: Client, tenants: Tenants
) -> None:
    pending = apply_for(owner_name="Li Mei", contact_phone="13800138000", about="Tea, two shops")
    declined = change_status(apply_for(name="Declined Bakery"), MerchantStatus.REJECTED)
    changelist = reverse("admin:tenants_merchantapplication_changelist")

    page = desk.get(changelist).content.decode()
    assert pending.slug in page and f"Li Mei &lt;{pending.contact_email}&gt;" in page
    assert "+8613800138000" in page
    assert declined.slug not in page  # pending only, unless asked
    assert "acme" not in page  # approved merchants are not applications
    assert declined.slug in desk.get(changelist, {"decision": "rejected"}).content.decode()
    detail = desk.get(reverse("admin:tenants_merchantapplication_change", args=[pending.pk]))
    assert detail.status_code == 200 and b"Tea, two shops" in detail.content
    assert b'name="status"' not in detail.content  # decided by the actions only


def test_the_desk_approves_and_rejects_with_a_reason(
    apply_for: Callable[..., Merchant], desk: Client, mailoutbox: list[Any]
) -> None:
    to_approve, to_reject = apply_for(), apply_for()
    changelist = reverse("admin:tenants_merchantapplication_changelist")

    response = desk.post(
        changelist,
        {"action": "approve", "_selected_action": [to_approve.pk], "confirm": "yes"},
        follow=True,
    )
    assert b"1 merchant(s) now active." in response.content
    assert Merchant.objects.get(pk=to_approve.pk).status == MerchantStatus.ACTIVE
    assert schema_exists(to_approve.schema_name)

    # Rejecting asks for the reason first; nothing changes until it is confirmed.
    confirm = desk.post(changelist, {"action": "reject", "_selected_action": [to_reject.pk]})
    assert confirm.status_code == 200 and b"Reject 1 merchant application" in confirm.content
    assert Merchant.objects.get(pk=to_reject.pk).status == MerchantStatus.PENDING
    response = desk.post(
        changelist,
        {
            "action": "reject",
            "_selected_action": [to_reject.pk],
            "confirm": "yes",
            "note": "Not a retail business.",
        },
        follow=True,
    )
    assert b"1 merchant(s) now rejected." in response.content
    rejected = Merchant.objects.get(pk=to_reject.pk)
    assert (rejected.status, rejected.review_note) == (
        MerchantStatus.REJECTED,
        "Not a retail business.",
    )
    assert [m.subject for m in mailoutbox] == [
        "Plum Blossom Teahouse is approved",
        "Your application for Plum Blossom Teahouse",
    ]
    # A declined application can be deleted (its slug is then free); a pending one cannot.
    pending = apply_for()
    delete = "admin:tenants_merchantapplication_delete"
    assert desk.get(reverse(delete, args=[pending.pk])).status_code == 403
    assert desk.post(reverse(delete, args=[rejected.pk]), {"post": "yes"}).status_code == 302
    assert not Merchant.objects.filter(pk=rejected.pk).exists()


def test_approving_asks_to_confirm_and_offers_the_first_top_up(
    apply_for: Callable[..., Merchant], desk: Client, unique: Callable[[str], str]
) -> None:
    merchant = apply_for()
    changelist = reverse("admin:tenants_merchantapplication_changelist")
    chosen = {"action": "approve", "_selected_action": [merchant.pk]}

    # As deleting does, the action first shows what it will do, and changes nothing.
    confirm = desk.post(changelist, chosen)
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Approve 1 merchant(s)?" in page and merchant.slug in page
    assert 'name="amount"' in page and 'name="payment_reference"' in page
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.PENDING
    assert not schema_exists(merchant.schema_name)

    # A top-up without the payment's reference is refused before anything happens.
    refused = desk.post(changelist, {**chosen, "confirm": "yes", "amount": "500"})
    assert refused.status_code == 200 and b"the payment&#x27;s reference" in refused.content
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.PENDING

    reference = unique("wire")
    form = {"amount": "500", "currency": "CNY", "rate": "100", "payment_reference": reference}
    done = desk.post(changelist, {**chosen, "confirm": "yes", **form}, follow=True)
    assert b"1 merchant(s) now active." in done.content
    messages = [str(m) for m in done.context["messages"]]
    assert f"{merchant.slug}: 50,000 points for {reference}." in messages, messages
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.ACTIVE
    # Through the ledger: a money funding and its transaction, the budget's balance.
    funding = Funding.objects.get(merchant=merchant)
    assert (funding.amount_minor, funding.currency, funding.reference) == (50_000, "CNY", reference)
    assert funding.transaction.kind == TransactionKind.FUND_MONEY
    assert ledger.balance_of(ledger.merchant_budget(merchant.pk)) == 50_000


def test_approving_several_offers_no_top_up_and_approves_only_when_confirmed(
    apply_for: Callable[..., Merchant], desk: Client
) -> None:
    first, second = apply_for(), apply_for()
    changelist = reverse("admin:tenants_merchantapplication_changelist")
    chosen = {"action": "approve", "_selected_action": [first.pk, second.pk]}
    confirm = desk.post(changelist, chosen)
    assert b"Approve 2 merchant(s)?" in confirm.content
    assert b'name="amount"' not in confirm.content  # a payment comes from one merchant
    done = desk.post(changelist, {**chosen, "confirm": "yes"}, follow=True)
    assert b"2 merchant(s) now active." in done.content
    assert {m.status for m in Merchant.objects.filter(pk__in=[first.pk, second.pk])} == {
        MerchantStatus.ACTIVE
    }
    assert not Funding.objects.filter(merchant__in=[first, second]).exists()


def test_the_desk_reports_a_failed_provisioning(
    apply_for: Callable[..., Merchant], desk: Client
) -> None:
    merchant = apply_for()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{merchant.schema_name}"')
    try:
        response = desk.post(
            reverse("admin:tenants_merchantapplication_changelist"),
            {"action": "approve", "_selected_action": [merchant.pk], "confirm": "yes"},
            follow=True,
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{merchant.schema_name}" CASCADE')
    assert response.status_code == 200
    assert b"it stays pending" in response.content
    assert Merchant.objects.get(pk=merchant.pk).status == MerchantStatus.PENDING


# --- What visits merchant schemas skips those that have none ------------------------------


def test_a_code_naming_an_application_is_unknown(
    apply_for: Callable[..., Merchant], consumer_api: Api, consumer: User
) -> None:
    merchant = apply_for()
    assert Merchant.find(merchant.pk) is None
    made_up = codes.new_code(codes.encode_merchant(merchant.pk))
    preview = consumer_api.op("ScanPreview", {"code": made_up})["data"]["scanPreview"]
    assert preview["status"] == "UNKNOWN"
    claimed = consumer_api.op(
        "ClaimCode", {"code": made_up, "idempotencyKey": "k"}, token=access_token(consumer)
    )["data"]["claimCode"]
    assert [e["code"] for e in claimed["errors"]] == ["UNKNOWN_CODE"]


def test_commands_refuse_an_application(apply_for: Callable[..., Merchant], tmp_path: Any) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    merchant = apply_for()
    with pytest.raises(CommandError, match="MERCHANT_NOT_ACTIVE"):
        call_command(
            "fund_merchant",
            merchant.slug,
            "--money",
            "--amount-minor",
            "100",
            "--currency",
            "CNY",
            "--rate",
            "100",
            "--reference",
            f"pay-{merchant.slug}",
            stdout=StringIO(),
        )
    with pytest.raises(CommandError, match="is an application"):
        call_command(
            "export_batch",
            merchant.slug,
            "1",
            "--format",
            "csv",
            "--output",
            str(tmp_path / "x.csv"),
            stdout=StringIO(),
        )
    assert budgets(merchant) == 0


def test_migrate_skips_applications(apply_for: Callable[..., Merchant], tenants: Tenants) -> None:
    """``migrate`` hands django-tenants' executor every tenant row's schema; ours drops
    those not created yet (django-tenants' own would fail on them and stop)."""
    from django_tenants.management.commands import migrate_schemas

    from tenants.migration import get_executor

    pending = apply_for()
    assert migrate_schemas.GET_EXECUTOR_FUNCTION is get_executor
    command = migrate_schemas.Command()
    options = vars(command.create_parser("manage.py", "migrate_schemas").parse_args(["--tenant"]))
    options.update(verbosity=0, interactive=False)
    # What migrate_schemas passes: a queryset of schema names (here, two of them).
    schemas = (
        Merchant.objects.only("schema_name")
        .filter(pk__in=[tenants.acme.pk, pending.pk])
        .values_list("schema_name", flat=True)
    )
    executor = get_executor("standard")((), options)

    executor.run_migrations(tenants=schemas)  # acme: nothing to apply; pending: skipped

    connection.set_schema_to_public()
    assert not schema_exists(pending.schema_name)
    assert Merchant.objects.get(pk=pending.pk).status == MerchantStatus.PENDING


@pytest.mark.celery_worker
def test_beat_tasks_skip_applications(
    apply_for: Callable[..., Merchant],
    celery_worker: Any,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
) -> None:
    """The periodic tasks that visit every merchant's schema, run by a real worker with
    an application (no schema) among the merchants."""
    from analytics.tasks import rollup
    from campaigns.scan.tasks import resume_stalled_batches
    from points import services

    # Activity for the rollup to work on: an award by an approved merchant.
    shop = onboarding.create_merchant(slug=unique("beat"), name="Beat Tea")
    services.fund_with_money(
        shop, amount_minor=100, currency="CNY", rate="1", payment_reference=unique("pay")
    )
    services.reserve(shop, "beat", 1, idempotency_key=unique("reserve"))
    consumer, _created = User.objects.get_or_create_consumer(new_phone())
    services.award(shop, "beat", consumer, 1, idempotency_key=unique("award"))
    apply_for()
    change_status(apply_for(), MerchantStatus.REJECTED)

    assert resume_stalled_batches.delay().get(timeout=60) >= 0
    assert rollup.delay().get(timeout=120)  # "<first>..<last> in <seconds>s"
