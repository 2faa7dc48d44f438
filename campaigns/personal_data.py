"""Campaigns' part of a consumer's data copy (``privacy.parts``): claims and responses.

They live in each merchant's schema. Which schemas to visit comes from the ledger (each
claim and rewarded response posted an award naming its merchant, as ``campaigns.merge``
reads it) and from the consumer's consents to share with merchants (an answer past a
questionnaire's cap earns nothing but was given with consent): never a sweep of every
merchant.

The erasure keeps these rows as they are: they name the consumer only by the account's
id, whose phone and WeChat identities are erased, and merchants' counts and results stay
unchanged (decision 0186).
"""

from __future__ import annotations

from typing import Any

from django_tenants.utils import tenant_context

from campaigns.models import Claim, Response
from points.models import Transaction, TransactionKind
from privacy.models import MerchantConsent
from tenants.models import Merchant


def _merchants(consumer_id: int) -> list[Merchant]:
    ids = set(
        Transaction.objects.filter(
            consumer_id=consumer_id, kind=TransactionKind.AWARD, merchant_id__isnull=False
        ).values_list("merchant_id", flat=True)
    )
    ids |= set(
        MerchantConsent.objects.filter(user_id=consumer_id).values_list("merchant_id", flat=True)
    )
    return list(Merchant.objects.filter(pk__in=ids, provisioned_at__isnull=False).order_by("pk"))


def copy(consumer_id: int) -> dict[str, list[dict[str, Any]]]:
    claims: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    for merchant in _merchants(consumer_id):
        with tenant_context(merchant):
            for claim in (
                Claim.objects.filter(consumer_id=consumer_id)
                .select_related("campaign")
                .order_by("claimed_at", "id")
            ):
                claims.append(
                    {
                        "merchant": merchant.name,
                        "campaign": claim.campaign.name,
                        "code": claim.code_id,
                        "points": claim.points,
                        "claimed_at": claim.claimed_at.isoformat(),
                    }
                )
            for response in (
                Response.objects.filter(consumer_id=consumer_id)
                .select_related("campaign")
                .order_by("submitted_at", "id")
            ):
                responses.append(
                    {
                        "merchant": merchant.name,
                        "questionnaire": response.campaign.name,
                        "answers": response.answers,
                        "points": response.points,
                        "submitted_at": response.submitted_at.isoformat(),
                    }
                )
    return {"claims": claims, "responses": responses}


def erase(consumer_id: int) -> None:
    """Nothing to change in merchants' schemas: see the module's docstring."""
