"""The domains' error codes and the one ``ErrorCode`` enum they are joined into."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from api import errors
from api.schema import consumer_schema, merchant_schema
from core.errors import DomainError, ErrorCodeEnum


def test_every_code_of_every_domain_is_in_both_schemas_in_the_join_order() -> None:
    joined = [member.value for enum in errors.DOMAIN_ERROR_CODES for member in enum]
    for schema in (consumer_schema, merchant_schema):
        enum = schema.graphql_schema.get_type("ErrorCode")
        assert list(enum.values) == joined


def test_every_code_is_its_own_name_and_describes_itself() -> None:
    for enum in errors.DOMAIN_ERROR_CODES:
        for member in enum:
            assert member.value == member.name and member == member.name
            assert member.description.strip(), member


def test_a_code_declared_by_two_domains_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    class ShopErrorCode(ErrorCodeEnum):
        SHOP_CLOSED = "SHOP_CLOSED", "The shop is closed."
        NOT_FOUND = "NOT_FOUND", "No such shop."  # already a core code

    monkeypatch.setattr(errors, "DOMAIN_ERROR_CODES", (*errors.DOMAIN_ERROR_CODES, ShopErrorCode))
    with pytest.raises(ImproperlyConfigured, match="NOT_FOUND is declared twice"):
        errors._joined()


def test_a_code_no_domain_declares_is_a_programming_error() -> None:
    class StrayErrorCode(ErrorCodeEnum):
        STRAY = "STRAY", "Declared nowhere the API joins."

    with pytest.raises(AssertionError, match="STRAY"):
        errors.error_from(DomainError(StrayErrorCode.STRAY, "stray"))
    error = errors.error_from(DomainError(errors.CoreErrorCode.NOT_FOUND, "gone", "id"))
    assert (error.code, type(error.code), error.field) == ("NOT_FOUND", str, "id")
