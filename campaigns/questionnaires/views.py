"""A questionnaire's response exports and poster, from signed links.

(The consumer's page ``/q/<link>`` is in ``frontend.consumer.views``.)
"""

from __future__ import annotations

import io

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from campaigns.models import Campaign, CampaignKind
from campaigns.questionnaires import exports as questionnaire_exports
from campaigns.questionnaires.links import questionnaire_link, questionnaire_url
from core.signed_links import refusal
from tenants.models import Merchant


@questionnaire_exports.LINK.view
def download_questionnaire_export(
    request: HttpRequest, merchant_id: int, campaign_id: int, name: str
) -> HttpResponse | FileResponse:
    """A responses export (202 until rendered) or the poster, from a signed link."""
    merchant = Merchant.find(merchant_id)
    if merchant is None:
        return refusal(404, _("Not found."))
    with tenant_context(merchant):
        campaign = (
            Campaign.objects.filter(pk=campaign_id, kind=CampaignKind.QUESTIONNAIRE)
            .select_related("questionnaire")
            .first()
        )
        if campaign is None:
            return refusal(404, _("Not found."))
        if name == "poster":
            out = io.BytesIO()
            questionnaire_exports.write_poster(
                out,
                url=questionnaire_url(questionnaire_link(merchant.pk, campaign.link_key)),
                title=campaign.name,
                merchant=merchant.name,
                points=campaign.questionnaire.points_per_response,
            )
            out.seek(0)
            response = FileResponse(
                out,
                as_attachment=False,
                filename=f"questionnaire-{campaign.pk}-poster.pdf",
                content_type=questionnaire_exports.CONTENT_TYPES["pdf"],
            )
            response["Cache-Control"] = "private, no-store"
            return response
    expected = f"questionnaire-exports/{merchant.schema_name}/{campaign_id}-"
    if not name.startswith(expected) or not default_storage.exists(name):
        return refusal(202, _("The export is being prepared. Try again in a moment."))
    extension = name.rsplit(".", 1)[-1]
    response = FileResponse(
        default_storage.open(name, "rb"),
        as_attachment=True,
        filename=f"questionnaire-{campaign_id}-responses.{extension}",
        content_type=questionnaire_exports.CONTENT_TYPES.get(extension, "application/octet-stream"),
    )
    response["Cache-Control"] = "private, no-store"
    return response
