"""The API's one ``ErrorCode`` enum, joined from the domains' error codes.

Expected failures are payload data (``errors { field code message }``), as Saleor
does, never exceptions. Each domain declares its codes in its own
``error_codes.py``; this module joins them, in the order below, into the single
``ErrorCode`` enum that both schemas share, so a client sees one stable list.
"""

from __future__ import annotations

import graphene
from django.core.exceptions import ImproperlyConfigured

from accounts.error_codes import AccountErrorCode
from campaigns.error_codes import (
    CampaignErrorCode,
    FollowErrorCode,
    PrizeErrorCode,
    QuestionnaireErrorCode,
)
from core.error_codes import CoreErrorCode
from core.errors import DomainError, ErrorCodeEnum
from dealers.error_codes import DealerErrorCode
from earning.error_codes import EarningErrorCode
from points.error_codes import LedgerErrorCode
from privacy.error_codes import PrivacyErrorCode
from redemption.error_codes import MallErrorCode
from tenants.error_codes import ApiKeyErrorCode, MerchantErrorCode, OfficialAccountErrorCode
from webhooks.error_codes import WebhookErrorCode

# The order of the schema's enum: never reorder (the SDL snapshots would change);
# a new domain's codes go at the end.
DOMAIN_ERROR_CODES: tuple[type[ErrorCodeEnum], ...] = (
    CoreErrorCode,
    AccountErrorCode,
    MerchantErrorCode,
    ApiKeyErrorCode,
    CampaignErrorCode,
    QuestionnaireErrorCode,
    FollowErrorCode,
    LedgerErrorCode,
    MallErrorCode,
    WebhookErrorCode,
    OfficialAccountErrorCode,
    PrizeErrorCode,
    PrivacyErrorCode,
    EarningErrorCode,
    DealerErrorCode,
)


def _joined() -> list[tuple[str, str]]:
    codes: dict[str, str] = {}
    for enum in DOMAIN_ERROR_CODES:
        for member in enum:
            if member.value in codes:
                # One name, one meaning: a second domain reuses the first one's member.
                raise ImproperlyConfigured(f"error code {member.value} is declared twice")
            codes[member.value] = member.description
    return list(codes.items())


ERROR_CODES = _joined()

ErrorCode = graphene.Enum(
    "ErrorCode",
    [(code, code) for code, _doc in ERROR_CODES],
    description="Stable machine-readable error codes. Never renamed; new ones may be added.",
)
KNOWN_CODES = {code for code, _doc in ERROR_CODES}


class Error(graphene.ObjectType):
    field = graphene.String(description="The argument at fault (camelCase), if any.")
    code = graphene.Field(ErrorCode, required=True)
    message = graphene.String(required=True, description="A human message, translated.")


def error_from(exc: DomainError) -> Error:
    if exc.code not in KNOWN_CODES:
        # A code missing from the enum is a programming error; fail loudly in tests.
        raise AssertionError(f"error code {exc.code!r} is in no domain's error_codes.py")
    # The plain value: graphene looks a Python enum member up by identity, not by value.
    return Error(field=exc.field, code=str(exc.code), message=exc.message)
