"""The public verifier of a prize campaign: ``/prizes/<merchant>/<campaign>`` and its
document ``…/log.json`` (``campaigns.prizes.verify``).

Public, like the published odds: anyone can read the terms, the seed commitments, the
draw log's head, the seeds once revealed, and the server's own recomputation; the JSON
document lets them recompute it themselves (``manage.py verify_prize_draws --file``, or
any HMAC-SHA256). No consumer or code is named in either.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from django_tenants.utils import tenant_context

from campaigns.models import CampaignKind, PrizeTable
from campaigns.prizes import verify
from frontend.pages import render_page
from tenants.models import Merchant


def _document(merchant_id: int, campaign_id: int) -> tuple[Merchant, dict[str, Any], str]:
    """The merchant, the published document and the campaign's kind."""
    merchant = Merchant.find(merchant_id)
    if merchant is None:
        raise Http404
    with tenant_context(merchant):
        table = (
            PrizeTable.objects.select_related("campaign")
            .filter(campaign_id=campaign_id, locked_at__isnull=False)
            .first()
        )
        if table is None:
            raise Http404  # a draft's terms are not published yet
        return merchant, verify.published(table), table.campaign.kind


@require_safe
def verify_page(request: HttpRequest, merchant_id: int, campaign_id: int) -> HttpResponse:
    merchant, document, kind = _document(merchant_id, campaign_id)
    report = verify.verify(document)
    total = sum(t["weight"] for t in document["tiers"])
    return render_page(
        request,
        "consumer/prize_verify.html",
        lambda: {
            "merchant": merchant,
            "document": document,
            "tiers": [{**t, "percent": 100 * t["weight"] / total} for t in document["tiers"]],
            "report": report,
            "recent": list(reversed(document["log"][-20:])),
            "guaranteed_tier": next(
                (
                    t["name"]
                    for t in document["tiers"]
                    if document["guarantee"] and t["position"] == document["guarantee"]["tier"]
                ),
                None,
            ),
            # A questionnaire's guarantee is its first answer's, not a first scan's.
            "questionnaire": kind == CampaignKind.QUESTIONNAIRE,
            "merchant_id": merchant_id,
            "campaign_id": campaign_id,
        },
    )


@require_safe
def log_json(request: HttpRequest, merchant_id: int, campaign_id: int) -> JsonResponse:
    _merchant, document, _kind = _document(merchant_id, campaign_id)
    response = JsonResponse(document, json_dumps_params={"ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="prize-draws-{campaign_id}.json"'
    return response
