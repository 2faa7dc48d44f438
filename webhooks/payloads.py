"""The ``data`` of each event. IDs are the merchant API's global IDs, so a receiver can
look an object up with ``node(id:)``. Consumers appear masked, with a reference
(``consumerRef``) that is stable within one merchant and differs between merchants,
so a receiver can count and recognise consumers without learning who they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from graphql_relay import to_global_id

from accounts import pseudonyms
from accounts.models import User, mask_phone


def consumer_ref(merchant_id: int, consumer_id: int) -> str:
    # The same pseudonymous id the earning API takes (accounts.pseudonyms), so a merchant
    # can award points to a consumer it learned of from an event.
    return pseudonyms.consumer_ref(merchant_id, consumer_id)


def consumer(merchant_id: int, user: User) -> dict[str, str]:
    return {
        "consumerRef": consumer_ref(merchant_id, user.pk),
        "maskedPhone": mask_phone(user.phone or ""),
    }


def tenant_id(type_name: str, merchant_id: int, pk: int) -> str:
    return to_global_id(type_name, f"{merchant_id}:{pk}")


def code_claimed(merchant_id: int, claim: Any, campaign: Any, user: User) -> dict[str, Any]:
    return {
        **code_claimed_before(merchant_id, claim.code_id, claim.claimed_at, user.pk),
        # campaigns_claim_code.sql adds the consumer's masked phone and these three itself
        # when it writes the outbox (decisions 0329, 0345): keep the two alike
        # (webhooks/tests/test_webhooks.py compares).
        "consumer": consumer(merchant_id, user),
        "points": claim.points,
        "campaign": {"id": tenant_id("Campaign", merchant_id, campaign.pk), "name": campaign.name},
        "batch": {"id": tenant_id("CodeBatch", merchant_id, claim.batch_id)},
    }


def code_claimed_before(
    merchant_id: int, code: str, claimed_at: datetime, consumer_id: int
) -> dict[str, Any]:
    """What ``code.claimed`` carries that is known before the claim's statement runs,
    without the user's row: a claim whose statement checks the session has not read it
    (decision 0345); the statement adds the consumer's masked phone."""
    return {
        "code": code,
        "claimedAt": claimed_at.isoformat(),
        "consumer": {"consumerRef": consumer_ref(merchant_id, consumer_id)},
    }


def questionnaire_answered(
    merchant_id: int, response: Any, campaign: Any, questionnaire: Any, user: User
) -> dict[str, Any]:
    return {
        "questionnaire": {
            "id": tenant_id("Questionnaire", merchant_id, questionnaire.pk),
            "campaignId": tenant_id("Campaign", merchant_id, campaign.pk),
            "name": campaign.name,
        },
        "version": response.version.number,
        "points": response.points,
        "answers": response.answers,
        "submittedAt": response.submitted_at.isoformat(),
        "consumer": consumer(merchant_id, user),
    }


def follow_credited(merchant_id: int, follow: Any, campaign: Any, user: User) -> dict[str, Any]:
    """A new follower of the merchant's official account was paid by a follow campaign."""
    return {
        "campaign": {"id": tenant_id("Campaign", merchant_id, campaign.pk), "name": campaign.name},
        "source": str(follow.source).upper(),
        "points": follow.points,
        "followedAt": follow.followed_at.isoformat(),
        "creditedAt": follow.credited_at.isoformat() if follow.credited_at else None,
        "consumer": consumer(merchant_id, user),
    }


def order(order: Any) -> dict[str, Any]:
    """An order of the merchant's goods, as the supplier's API shows it to operators
    (who ship it: the address is in full)."""

    def when(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "order": {
            "id": to_global_id("SupplierOrder", order.pk),
            "status": str(order.status).upper(),
            "quantity": order.quantity,
            "unitPoints": order.unit_points,
            "totalPoints": order.total_points,
            "product": {
                "id": to_global_id("SuppliedProduct", order.product_id),
                "title": order.product.title,
            },
            "address": order.address,
            "carrier": order.carrier or None,
            "trackingNumber": order.tracking_number or None,
            "placedAt": when(order.placed_at),
            "shippedAt": when(order.shipped_at),
        },
        "consumer": consumer(order.supplier_id, order.consumer),
    }


def batch_ready(merchant_id: int, batch: Any) -> dict[str, Any]:
    return {
        "batch": {
            "id": tenant_id("CodeBatch", merchant_id, batch.pk),
            "size": batch.size,
            "pointsPerCode": batch.points_per_code,
            "finishedAt": batch.finished_at.isoformat() if batch.finished_at else None,
        },
        "campaign": {"id": tenant_id("Campaign", merchant_id, batch.campaign_id)},
    }


def diversion_suspected(merchant_id: int, diversion: Any, dealer: Any) -> dict[str, Any]:
    """A code scanned outside its dealer's regions (once per code and region)."""
    return {
        "code": diversion.code,
        "region": diversion.region,
        "regionName": diversion.region_name,
        "approximate": diversion.approximate,
        "refused": diversion.refused,
        "scannedAt": diversion.first_scanned_at.isoformat(),
        "dealer": {"id": tenant_id("Dealer", merchant_id, dealer.pk), "name": dealer.name},
        "batch": {"id": tenant_id("CodeBatch", merchant_id, diversion.batch_id)},
    }
