"""Merchant API: staff sign-in, the current merchant and its ledger, tenant selection, staff."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail
from graphql_relay import to_global_id

from accounts.models import User
from points import services
from tenants.models import Domain, Membership, Role
from tests.fixtures.api import Api, access_token
from tests.fixtures.tenants import STAFF_PASSWORD, Tenants

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "plum-orchard-lantern-42"


def _sign_in(api: Api, email: str, password: str = STAFF_PASSWORD) -> dict:
    return api.op("StaffSignIn", {"email": email, "password": password})["data"]["signIn"]


def _codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def _error_code(result: dict) -> str:
    assert result["errors"], result
    return result["errors"][0]["extensions"]["code"]


def _member_id(merchant, user: User) -> str:
    return to_global_id("StaffMember", Membership.objects.get(merchant=merchant, user=user).pk)


def _invite_link_params(message: mail.EmailMessage) -> dict[str, str]:
    match = re.search(r"https?://\S+/console/accept-invitation/\?\S+", str(message.body))
    assert match, message.body
    query = parse_qs(urlparse(match.group(0).rstrip(".")).query)
    return {"uid": query["uid"][0], "token": query["token"][0]}


# --- Sign-in ----------------------------------------------------------------------


def test_staff_sign_in_returns_tokens_that_work(merchant_api: Api, tenants: Tenants) -> None:
    result = _sign_in(merchant_api, "Owner@Acme.test ")
    assert result["errors"] == []
    assert result["tokens"]["expiresIn"] > 0
    token = result["tokens"]["accessToken"]
    me = merchant_api.op("Me", token=token)["data"]["me"]
    assert me["email"] == "owner@acme.test"
    slugs = [edge["node"]["merchant"]["slug"] for edge in me["memberships"]["edges"]]
    assert slugs == ["acme"]
    merchant = merchant_api.op("Merchant", token=token, merchant="acme")["data"]
    assert merchant["myRole"] == "OWNER"


def test_wrong_password_is_invalid_credentials(merchant_api: Api, tenants: Tenants) -> None:
    result = _sign_in(merchant_api, tenants.acme_owner.get_username(), "not-the-password")
    assert _codes(result) == ["INVALID_CREDENTIALS"]
    assert result["tokens"] is None
    unknown = _sign_in(merchant_api, "nobody@acme.test", "whatever-password")
    assert _codes(unknown) == ["INVALID_CREDENTIALS"]
    assert unknown["errors"][0]["message"] == result["errors"][0]["message"]


def test_repeated_failures_are_rate_limited(merchant_api: Api, tenants: Tenants) -> None:
    email = tenants.acme_viewer.get_username()
    codes = [_codes(_sign_in(merchant_api, email, f"guess-{i}"))[0] for i in range(12)]
    assert codes[:10] == ["INVALID_CREDENTIALS"] * 10
    assert codes[10:] == ["RATE_LIMITED"] * 2
    # Once limited, even the right password is refused: guessing gains nothing.
    right = _sign_in(merchant_api, email)
    assert _codes(right) == ["RATE_LIMITED"]
    assert right["tokens"] is None
    # Other accounts are not affected.
    assert _sign_in(merchant_api, tenants.acme_admin.get_username())["errors"] == []


# --- The merchant, its budget and ledger ------------------------------------------------


def _merchant(api: Api, user: User, slug: str | None = "acme") -> dict:
    return api.op("Merchant", token=access_token(user), merchant=slug)


def test_merchant_query_returns_merchant_role_and_budget(
    merchant_api: Api, tenants: Tenants
) -> None:
    data = _merchant(merchant_api, tenants.acme_operator)["data"]
    assert data["merchant"]["slug"] == "acme"
    assert data["merchant"]["name"] == "Acme Tea"
    assert data["merchant"]["status"] == tenants.acme.status.upper()
    assert data["myRole"] == "OPERATOR"
    assert set(data["budget"]) == {"available", "reserved", "money"}
    beta = _merchant(merchant_api, tenants.beta_owner, "beta")["data"]
    assert (beta["merchant"]["slug"], beta["merchant"]["name"]) == ("beta", "Beta Bakery")
    assert beta["myRole"] == "OWNER"


def test_budget_reflects_funding_and_reserves(
    merchant_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    before = _merchant(merchant_api, tenants.acme_viewer)["data"]["budget"]
    services.fund_with_money(
        tenants.acme, amount_minor=12_345, currency="CNY", rate="10", payment_reference=unique("p")
    )  # 123.45 CNY at 10 points per yuan: 1234 points (floored)
    after_funding = _merchant(merchant_api, tenants.acme_viewer)["data"]["budget"]
    available = before["available"] + 1234
    # Priced at this latest top-up's 10 points a yuan (points/topups.py), rounded down.
    assert after_funding == {
        "available": available,
        "reserved": before["reserved"],
        "money": {
            "rate": "10",
            "currency": "CNY",
            "availableMinor": available * 10,
            "reservedMinor": before["reserved"] * 10,
        },
    }
    services.reserve(tenants.acme, unique("campaign"), 400, idempotency_key=unique("r"))
    after_reserve = _merchant(merchant_api, tenants.acme_viewer)["data"]["budget"]
    assert {k: after_reserve[k] for k in ("available", "reserved")} == {
        "available": before["available"] + 834,
        "reserved": before["reserved"] + 400,
    }


def test_ledger_lists_budget_and_reserve_entries_newest_first(
    merchant_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    payment = unique("pay")
    campaign = unique("campaign")
    services.fund_with_money(
        tenants.acme, amount_minor=10_000, currency="CNY", rate="10", payment_reference=payment
    )
    services.reserve(tenants.acme, campaign, 300, idempotency_key=unique("r"), memo="Spring")
    result = merchant_api.op(
        "Ledger", {"first": 3}, token=access_token(tenants.acme_viewer), merchant="acme"
    )
    connection = result["data"]["ledger"]
    nodes = [edge["node"] for edge in connection["edges"]]
    assert [(n["kind"], n["amount"], n["account"], n["reference"], n["memo"]) for n in nodes] == [
        ("RESERVE", 300, "CAMPAIGN_RESERVE", campaign, "Spring"),
        ("RESERVE", -300, "MERCHANT_BUDGET", "", "Spring"),
        ("FUND_MONEY", 1000, "MERCHANT_BUDGET", "", payment),
    ]
    created = [n["createdAt"] for n in nodes]
    assert created == sorted(created, reverse=True)
    # Pages continue after the cursor, in the same order, repeating nothing.
    token = access_token(tenants.acme_viewer)
    first_page = merchant_api.op("Ledger", {"first": 2}, token=token, merchant="acme")
    first_page = first_page["data"]["ledger"]
    assert first_page["pageInfo"]["hasNextPage"] is True
    assert [edge["node"] for edge in first_page["edges"]] == nodes[:2]
    after = first_page["pageInfo"]["endCursor"]
    next_page = merchant_api.op(
        "Ledger", {"first": 1, "after": after}, token=token, merchant="acme"
    )
    assert [edge["node"] for edge in next_page["data"]["ledger"]["edges"]] == nodes[2:]


def test_unauthenticated_merchant_query_is_refused(merchant_api: Api) -> None:
    result = merchant_api.op("Merchant", merchant="acme")
    assert result["data"] is None
    assert _error_code(result) == "UNAUTHENTICATED"
    assert merchant_api.op("Me")["data"]["me"] is None


# --- Choosing the merchant ---------------------------------------------------------


def test_unknown_merchant_slug_is_not_found(merchant_api: Api, tenants: Tenants) -> None:
    result = _merchant(merchant_api, tenants.acme_owner, "no-such-shop")
    assert result["data"] is None
    assert _error_code(result) == "MERCHANT_NOT_FOUND"


def test_foreign_merchant_answers_like_an_unknown_one(merchant_api: Api, tenants: Tenants) -> None:
    foreign = _merchant(merchant_api, tenants.acme_owner, "beta")
    unknown = _merchant(merchant_api, tenants.acme_owner, "no-such-shop")
    assert foreign["data"] is None
    assert _error_code(foreign) == "MERCHANT_NOT_FOUND"
    strip = [{k: v for k, v in e.items() if k != "locations"} for e in foreign["errors"]]
    assert strip == [{k: v for k, v in e.items() if k != "locations"} for e in unknown["errors"]]


def test_member_of_one_merchant_may_omit_the_header(merchant_api: Api, tenants: Tenants) -> None:
    assert _merchant(merchant_api, tenants.acme_viewer, None)["data"]["merchant"]["slug"] == "acme"
    assert _merchant(merchant_api, tenants.beta_owner, None)["data"]["merchant"]["slug"] == "beta"


def test_member_of_two_merchants_must_choose(merchant_api: Api, tenants: Tenants) -> None:
    Membership.objects.create(merchant=tenants.beta, user=tenants.acme_owner, role=Role.VIEWER)
    result = _merchant(merchant_api, tenants.acme_owner, None)
    assert result["data"] is None
    assert _error_code(result) == "MERCHANT_REQUIRED"
    chosen = _merchant(merchant_api, tenants.acme_owner, "beta")["data"]
    assert (chosen["merchant"]["slug"], chosen["myRole"]) == ("beta", "VIEWER")
    assert _merchant(merchant_api, tenants.acme_owner, "ACME")["data"]["myRole"] == "OWNER"


def test_merchant_domain_selects_the_merchant(
    merchant_api: Api, tenants: Tenants, settings
) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "shop.acme.test"]
    Domain.objects.create(tenant=tenants.acme, domain="shop.acme.test", is_primary=False)
    Membership.objects.create(merchant=tenants.beta, user=tenants.acme_owner, role=Role.VIEWER)
    token = access_token(tenants.acme_owner)
    by_host = merchant_api.op("Merchant", token=token, HTTP_HOST="shop.acme.test")
    assert by_host["data"]["merchant"]["slug"] == "acme"
    assert by_host["data"]["myRole"] == "OWNER"
    # The header, when given, wins over the host.
    header = merchant_api.op("Merchant", token=token, merchant="beta", HTTP_HOST="shop.acme.test")
    assert header["data"]["merchant"]["slug"] == "beta"
    # Someone who is not on acme's staff gets nothing from acme's domain.
    stranger = merchant_api.op(
        "Merchant", token=access_token(tenants.beta_owner), HTTP_HOST="shop.acme.test"
    )
    assert stranger["data"] is None
    assert _error_code(stranger) == "MERCHANT_NOT_FOUND"


# --- Staff ---------------------------------------------------------------------------


def _invite(api: Api, actor: User, email: str, role: str, name: str = "") -> dict:
    return api.op(
        "StaffInvite",
        {"email": email, "role": role, "name": name},
        token=access_token(actor),
        merchant="acme",
    )["data"]["staffInvite"]


def test_invite_accept_and_sign_in(
    merchant_api: Api, tenants: Tenants, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invited = _invite(merchant_api, tenants.acme_admin, " New.Clerk@Example.test", "OPERATOR")
    assert invited["errors"] == []
    assert invited["member"]["email"] == "new.clerk@example.test"
    assert invited["member"]["role"] == "OPERATOR"
    membership = Membership.objects.get(merchant=tenants.acme, user__email="new.clerk@example.test")
    assert (membership.role, membership.invited_by) == (Role.OPERATOR, tenants.acme_admin)
    assert invited["member"]["id"] == to_global_id("StaffMember", membership.pk)
    assert not membership.user.has_usable_password()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.clerk@example.test"]
    assert "Acme Tea" in message.subject
    params = _invite_link_params(message)

    # Nobody can sign in before the invitation is accepted.
    assert _codes(_sign_in(merchant_api, "new.clerk@example.test", "")) == ["INVALID_CREDENTIALS"]

    bad_token = merchant_api.op("AcceptInvitation", {**params, "token": "1-x", "password": "p"})
    assert _codes(bad_token["data"]["acceptInvitation"]) == ["TOKEN_INVALID"]
    bad_uid = merchant_api.op("AcceptInvitation", {**params, "uid": "!!", "password": "p"})
    assert _codes(bad_uid["data"]["acceptInvitation"]) == ["TOKEN_INVALID"]
    weak = merchant_api.op("AcceptInvitation", {**params, "password": "12345678"})
    weak = weak["data"]["acceptInvitation"]
    assert _codes(weak) == ["INVALID_PASSWORD"]
    assert weak["errors"][0]["field"] == "password"
    assert weak["tokens"] is None

    accepted = merchant_api.op("AcceptInvitation", {**params, "password": NEW_PASSWORD})
    accepted = accepted["data"]["acceptInvitation"]
    assert accepted["errors"] == []
    role = merchant_api.op("Merchant", token=accepted["tokens"]["accessToken"])["data"]["myRole"]
    assert role == "OPERATOR"

    signed_in = _sign_in(merchant_api, "new.clerk@example.test", NEW_PASSWORD)
    assert signed_in["errors"] == []
    # The link works once: setting the password invalidated it.
    again = merchant_api.op("AcceptInvitation", {**params, "password": "another-" + NEW_PASSWORD})
    assert _codes(again["data"]["acceptInvitation"]) == ["TOKEN_INVALID"]
    assert _sign_in(merchant_api, "new.clerk@example.test", NEW_PASSWORD)["errors"] == []


def test_reinvited_person_without_password_gets_a_new_link(
    merchant_api: Api, tenants: Tenants, django_capture_on_commit_callbacks
) -> None:
    """Removed before accepting (e.g. the link expired) and invited again: a new link."""
    with django_capture_on_commit_callbacks(execute=True):
        first = _invite(merchant_api, tenants.acme_admin, "late@example.test", "VIEWER")
    remove = merchant_api.op(
        "StaffRemove",
        {"id": first["member"]["id"]},
        token=access_token(tenants.acme_admin),
        merchant="acme",
    )
    assert remove["data"]["staffRemove"]["errors"] == []
    with django_capture_on_commit_callbacks(execute=True):
        second = _invite(merchant_api, tenants.acme_admin, "late@example.test", "VIEWER")
    assert second["errors"] == []
    assert len(mail.outbox) == 2
    params = _invite_link_params(mail.outbox[1])
    accepted = merchant_api.op("AcceptInvitation", {**params, "password": NEW_PASSWORD})
    assert accepted["data"]["acceptInvitation"]["errors"] == []


def test_inviting_someone_with_an_account_sends_no_password_link(
    merchant_api: Api, tenants: Tenants, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invited = _invite(
            merchant_api, tenants.acme_owner, tenants.beta_owner.get_username(), "ADMIN"
        )
    assert invited["errors"] == []
    assert len(mail.outbox) == 1
    assert "accept-invitation" not in mail.outbox[0].body
    assert "/merchant/" in mail.outbox[0].body
    assert tenants.beta_owner.memberships.count() == 2


@pytest.mark.parametrize("who", ["acme_viewer", "acme_operator"])
def test_viewer_and_operator_cannot_invite(
    merchant_api: Api, tenants: Tenants, who: str, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        result = _invite(merchant_api, getattr(tenants, who), "eve@example.test", "VIEWER")
    assert _codes(result) == ["PERMISSION_DENIED"]
    assert result["member"] is None
    assert not User.objects.filter(email="eve@example.test").exists()
    assert mail.outbox == []


def test_only_an_owner_invites_an_owner(
    merchant_api: Api, tenants: Tenants, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        refused = _invite(merchant_api, tenants.acme_admin, "boss@example.test", "OWNER")
    assert _codes(refused) == ["PERMISSION_DENIED"]
    assert not User.objects.filter(email="boss@example.test").exists()
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        allowed = _invite(merchant_api, tenants.acme_owner, "boss@example.test", "OWNER")
    assert allowed["errors"] == []
    assert allowed["member"]["role"] == "OWNER"
    assert len(mail.outbox) == 1


def test_invite_refuses_existing_member_and_bad_email(merchant_api: Api, tenants: Tenants) -> None:
    again = _invite(
        merchant_api, tenants.acme_admin, tenants.acme_viewer.get_username().upper(), "VIEWER"
    )
    assert _codes(again) == ["ALREADY_MEMBER"]
    assert again["errors"][0]["field"] == "email"
    for email in ("not-an-email", "", "a@b@c.test"):
        bad = _invite(merchant_api, tenants.acme_admin, email, "VIEWER")
        assert _codes(bad) == ["INVALID_EMAIL"], email
        assert bad["errors"][0]["field"] == "email"
    assert Membership.objects.filter(merchant=tenants.acme).count() == 4


def _change_role(api: Api, actor: User, member_id: str, role: str) -> dict:
    return api.op(
        "StaffChangeRole",
        {"id": member_id, "role": role},
        token=access_token(actor),
        merchant="acme",
    )["data"]["staffChangeRole"]


def _remove(api: Api, actor: User, member_id: str) -> dict:
    return api.op("StaffRemove", {"id": member_id}, token=access_token(actor), merchant="acme")[
        "data"
    ]["staffRemove"]


def _role_of(tenants: Tenants, user: User) -> str | None:
    membership = Membership.objects.filter(merchant=tenants.acme, user=user).first()
    return membership.role if membership else None


def test_change_role_and_remove(merchant_api: Api, tenants: Tenants) -> None:
    viewer_id = _member_id(tenants.acme, tenants.acme_viewer)
    changed = _change_role(merchant_api, tenants.acme_admin, viewer_id, "OPERATOR")
    assert changed["errors"] == []
    assert changed["member"] == {
        "id": viewer_id,
        "email": tenants.acme_viewer.email,
        "role": "OPERATOR",
    }
    assert _role_of(tenants, tenants.acme_viewer) == Role.OPERATOR

    removed = _remove(merchant_api, tenants.acme_admin, viewer_id)
    assert removed == {"removedId": viewer_id, "errors": []}
    assert _role_of(tenants, tenants.acme_viewer) is None
    staff = merchant_api.op("Staff", token=access_token(tenants.acme_admin), merchant="acme")
    emails = [edge["node"]["email"] for edge in staff["data"]["staff"]["edges"]]
    assert sorted(emails) == sorted(
        u.get_username() for u in (tenants.acme_owner, tenants.acme_admin, tenants.acme_operator)
    )
    # The removed person's token no longer reaches acme.
    gone = merchant_api.op("Merchant", token=access_token(tenants.acme_viewer), merchant="acme")
    assert _error_code(gone) == "MERCHANT_NOT_FOUND"


def test_last_owner_cannot_be_demoted_or_removed(
    merchant_api: Api, tenants: Tenants, django_capture_on_commit_callbacks
) -> None:
    owner_id = _member_id(tenants.acme, tenants.acme_owner)
    demoted = _change_role(merchant_api, tenants.acme_owner, owner_id, "ADMIN")
    assert _codes(demoted) == ["LAST_OWNER"]
    assert demoted["member"] is None
    removed = _remove(merchant_api, tenants.acme_owner, owner_id)
    assert _codes(removed) == ["LAST_OWNER"]
    assert removed["removedId"] is None
    assert _role_of(tenants, tenants.acme_owner) == Role.OWNER

    # With a second owner, the first may step down.
    with django_capture_on_commit_callbacks(execute=True):
        second = _invite(merchant_api, tenants.acme_owner, "co-owner@example.test", "OWNER")
    assert second["errors"] == []
    assert _change_role(merchant_api, tenants.acme_owner, owner_id, "ADMIN")["errors"] == []
    assert _role_of(tenants, tenants.acme_owner) == Role.ADMIN
    # ...and now the co-owner is the last one.
    co_owner = User.objects.get(email="co-owner@example.test")
    co_owner_id = second["member"]["id"]
    assert _codes(_remove(merchant_api, co_owner, co_owner_id)) == ["LAST_OWNER"]


def test_admin_cannot_act_on_owners(merchant_api: Api, tenants: Tenants) -> None:
    owner_id = _member_id(tenants.acme, tenants.acme_owner)
    operator_id = _member_id(tenants.acme, tenants.acme_operator)
    assert _codes(_change_role(merchant_api, tenants.acme_admin, owner_id, "VIEWER")) == [
        "PERMISSION_DENIED"
    ]
    assert _codes(_remove(merchant_api, tenants.acme_admin, owner_id)) == ["PERMISSION_DENIED"]
    assert _codes(_change_role(merchant_api, tenants.acme_admin, operator_id, "OWNER")) == [
        "PERMISSION_DENIED"
    ]
    assert _role_of(tenants, tenants.acme_owner) == Role.OWNER
    assert _role_of(tenants, tenants.acme_operator) == Role.OPERATOR


def test_operator_cannot_change_roles(merchant_api: Api, tenants: Tenants) -> None:
    viewer_id = _member_id(tenants.acme, tenants.acme_viewer)
    result = _change_role(merchant_api, tenants.acme_operator, viewer_id, "ADMIN")
    assert _codes(result) == ["PERMISSION_DENIED"]
    assert _codes(_remove(merchant_api, tenants.acme_operator, viewer_id)) == ["PERMISSION_DENIED"]
    assert _role_of(tenants, tenants.acme_viewer) == Role.VIEWER


@pytest.mark.parametrize(
    "member_id",
    [
        "not-a-global-id",
        to_global_id("StaffMember", "abc"),
        to_global_id("StaffMember", 10**9),
        to_global_id("StaffMember", 10**30),
        to_global_id("Nope", 1),
    ],
)
def test_bad_member_ids_are_not_found(merchant_api: Api, tenants: Tenants, member_id: str) -> None:
    changed = _change_role(merchant_api, tenants.acme_owner, member_id, "VIEWER")
    assert _codes(changed) == ["NOT_FOUND"]
    assert changed["errors"][0]["field"] == "id"
    assert _codes(_remove(merchant_api, tenants.acme_owner, member_id)) == ["NOT_FOUND"]


def test_member_id_of_another_type_is_not_found(merchant_api: Api, tenants: Tenants) -> None:
    """A MyMembership ID names the same row, but is not a staff member ID."""
    membership = Membership.objects.get(merchant=tenants.acme, user=tenants.acme_viewer)
    wrong_type = to_global_id("MyMembership", membership.pk)
    assert _codes(_remove(merchant_api, tenants.acme_owner, wrong_type)) == ["NOT_FOUND"]
    assert _role_of(tenants, tenants.acme_viewer) == Role.VIEWER


def test_invite_with_a_null_name(merchant_api: Api, tenants: Tenants) -> None:
    # The console leaves the optional name out or sends null: both mean "no name".
    invited = merchant_api.op(
        "StaffInvite",
        {"email": "nameless@example.test", "role": "VIEWER", "name": None},
        token=access_token(tenants.acme_admin),
        merchant="acme",
    )["data"]["staffInvite"]
    assert invited["errors"] == []
    assert invited["member"]["email"] == "nameless@example.test"
