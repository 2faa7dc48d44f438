"""Self-service merchant sign-up through the merchant API (``merchantSignUp``).

A sign-up makes only rows (a pending merchant without a schema, its owner), so these
tests run in the test's transaction. Approval, which makes the schema, is in
``test_applications.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import User
from core.db import connection
from points.models import Account
from tenants.models import AuditEvent, Membership, Merchant, MerchantStatus, Role
from tenants.provisioning import schema_exists, schema_for
from tests.fixtures.api import Api
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db

PASSWORD = "Plum-blossom-1987"


def application(unique: Callable[[str], str], **changes: Any) -> dict[str, Any]:
    slug = unique("apply")
    return {
        "name": "Plum Blossom Teahouse",
        "slug": slug,
        "contactEmail": f"{slug}@plum.test",
        "contactPhone": "+86 138 0013 8000",
        "ownerName": "Li Mei",
        "password": PASSWORD,
        "about": "Loose-leaf tea, two shops in Hangzhou.",
        "language": "zh-hans",
        **changes,
    }


def sign_up(api: Api, variables: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    result = api.op("MerchantSignUp", variables, **kwargs)
    assert "errors" not in result, result
    return result["data"]["merchantSignUp"]


def test_a_sign_up_makes_a_pending_merchant_without_a_schema_and_its_owner(
    merchant_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    variables = application(unique, contactEmail=f"{unique('Li.Mei')}@Plum.TEST ")

    payload = sign_up(merchant_api, variables)

    email = variables["contactEmail"].strip().lower()
    assert payload == {
        "merchant": {
            "slug": variables["slug"],
            "name": "Plum Blossom Teahouse",
            "status": "PENDING",
            "contactEmail": email,
        },
        "errors": [],
    }
    merchant = Merchant.objects.get(slug=variables["slug"])
    assert merchant.status == MerchantStatus.PENDING
    assert merchant.provisioned_at is None
    assert merchant.schema_name == schema_for(variables["slug"])
    assert not schema_exists(merchant.schema_name)
    assert (merchant.contact_phone, merchant.about, merchant.language) == (
        "+8613800138000",
        "Loose-leaf tea, two shops in Hangzhou.",
        "zh-hans",
    )
    # No budget until approval: nothing can be funded or spent yet.
    assert not Account.objects.filter(merchant_id=merchant.pk).exists()
    owner = User.objects.get(email=email)
    assert owner.check_password(PASSWORD) and owner.name == "Li Mei"
    assert not owner.is_staff and not owner.phone
    assert list(Membership.objects.filter(merchant=merchant).values_list("user", "role")) == [
        (owner.pk, Role.OWNER)
    ]
    # Recorded for the operators, like a sign-in attempt: the applicant, never the password.
    event = AuditEvent.objects.filter(mutation="merchantSignUp").latest("id")
    assert (event.actor_label, event.result, event.merchant_id) == (email, "ok", None)
    assert event.input["password"] == "[redacted]"
    assert PASSWORD not in str(event.input)


def test_every_field_at_fault_is_reported_at_once_and_nothing_is_made(
    merchant_api: Api, unique: Callable[[str], str]
) -> None:
    users, merchants = User.objects.count(), Merchant.objects.count()
    payload = sign_up(
        merchant_api,
        {
            "name": "  ",
            "slug": "Bad Slug",
            "contactEmail": "not-an-email",
            "contactPhone": "12",
            "ownerName": "x" * 151,
            "password": "12345678",
            "about": "x" * 1001,
        },
    )
    assert payload["merchant"] is None
    assert sorted((e["field"], e["code"]) for e in payload["errors"]) == [
        ("about", "TEXT_TOO_LONG"),
        ("contactEmail", "INVALID_EMAIL"),
        ("contactPhone", "INVALID_PHONE"),
        ("name", "INVALID_NAME"),
        ("ownerName", "INVALID_NAME"),
        ("password", "INVALID_PASSWORD"),
        ("slug", "INVALID_SLUG"),
    ]
    password = next(e for e in payload["errors"] if e["field"] == "password")
    assert "too common" in password["message"] and "entirely numeric" in password["message"]
    assert (User.objects.count(), Merchant.objects.count()) == (users, merchants)


def test_a_password_like_the_email_is_refused(
    merchant_api: Api, unique: Callable[[str], str]
) -> None:
    variables = application(unique)
    payload = sign_up(merchant_api, {**variables, "password": variables["contactEmail"]})
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("password", "INVALID_PASSWORD")
    ]


def test_a_taken_slug_is_refused_without_saying_more(
    merchant_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    users = User.objects.count()
    payload = sign_up(merchant_api, application(unique, slug="acme"))
    assert payload == {
        "merchant": None,
        "errors": [
            {
                "field": "slug",
                "code": "SLUG_TAKEN",
                "message": "A merchant with this slug already exists.",
            }
        ],
    }
    assert User.objects.count() == users


def test_a_slug_whose_schema_is_left_over_is_taken(
    merchant_api: Api, unique: Callable[[str], str]
) -> None:
    """A deleted merchant's schema stays (auto_drop_schema is off): its slug cannot be
    approved again, so it is refused at once rather than at the approval."""
    variables = application(unique)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema_for(variables["slug"])}"')  # rolled back
    payload = sign_up(merchant_api, variables)
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("slug", "SLUG_TAKEN")]


def test_an_email_with_an_account_is_refused_and_that_account_is_untouched(
    merchant_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    owner = tenants.acme_owner
    password = owner.password
    memberships = list(Membership.objects.filter(user=owner).values_list("merchant", "role"))
    payload = sign_up(merchant_api, application(unique, contactEmail=owner.get_username().upper()))
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("contactEmail", "EMAIL_TAKEN")]
    owner.refresh_from_db()
    assert owner.password == password
    assert list(Membership.objects.filter(user=owner).values_list("merchant", "role")) == (
        memberships
    )


def test_sign_ups_are_limited_per_address(
    merchant_api: Api, settings: Any, unique: Callable[[str], str]
) -> None:
    limit = settings.MERCHANT_SIGNUPS_PER_IP_PER_HOUR
    here = {"REMOTE_ADDR": "203.0.113.7"}
    # Refused attempts count as well: probing slugs and emails is what the limit bounds.
    for _ in range(limit - 1):
        refused = sign_up(merchant_api, application(unique, slug="acme"), **here)
        assert refused["errors"][0]["code"] == "SLUG_TAKEN"
    assert sign_up(merchant_api, application(unique), **here)["errors"] == []

    limited = sign_up(merchant_api, application(unique), **here)
    assert limited["merchant"] is None
    assert [e["code"] for e in limited["errors"]] == ["RATE_LIMITED"]
    assert "seconds" in limited["errors"][0]["message"]
    # Another address is counted apart.
    elsewhere = sign_up(merchant_api, application(unique), REMOTE_ADDR="198.51.100.9")
    assert elsewhere["errors"] == []


def test_the_owner_signs_in_but_the_application_answers_only_who_and_where(
    merchant_api: Api, unique: Callable[[str], str]
) -> None:
    variables = application(unique)
    sign_up(merchant_api, variables)
    signed_in = merchant_api.op(
        "StaffSignIn", {"email": variables["contactEmail"], "password": PASSWORD}
    )["data"]["signIn"]
    assert signed_in["errors"] == []
    token = signed_in["tokens"]["accessToken"]

    me = merchant_api.op("Me", token=token)["data"]["me"]
    [membership] = [edge["node"] for edge in me["memberships"]["edges"]]
    assert membership["role"] == "OWNER"
    assert membership["merchant"] == {
        "slug": variables["slug"],
        "name": variables["name"],
        "status": "PENDING",
    }
    # The console's session query: the merchant and role answer, the budget refuses.
    result = merchant_api.op("Merchant", token=token)
    assert result["data"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in result["errors"]] == [
        (["budget"], "MERCHANT_NOT_ACTIVE")
    ]
    assert result["errors"][0]["message"] == "This merchant's application is under review."
    who = merchant_api.query(
        "query { merchant { slug status } myRole }", token=token, merchant=variables["slug"]
    )
    assert who == {
        "data": {"merchant": {"slug": variables["slug"], "status": "PENDING"}, "myRole": "OWNER"}
    }


def test_a_merchant_api_key_cannot_sign_up(
    merchant_api: Api, tenants: Tenants, unique: Callable[[str], str]
) -> None:
    from tenants import apikeys

    _key, secret = apikeys.create(
        Membership.objects.get(merchant=tenants.acme, user=tenants.acme_owner),
        "ERP",
        ["campaigns:write"],
    )
    payload = sign_up(merchant_api, application(unique), HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert [e["code"] for e in payload["errors"]] == ["PERMISSION_DENIED"]
