"""The questionnaire's phone page (``GET /q/<link>``) and its export/poster downloads.

The page touches the database only to check that the link names a questionnaire
(so a wrong link is a 404); questions, sign-in and submitting go through the
consumer API with the operations kept in ``graphql/operations/consumer/``, embedded
in the page as JSON like the scan page (``campaigns.scan_views``).
"""

from __future__ import annotations

import io
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from django_tenants.utils import tenant_context

from campaigns import questionnaire_exports
from campaigns.models import Campaign, CampaignKind
from campaigns.scan_views import OPERATIONS_DIR, _language, error_messages
from campaigns.schema_questionnaires import parse_link, questionnaire_link, questionnaire_url
from tenants.models import Merchant

PAGE_OPERATIONS = (
    "Questionnaire",
    "SubmitResponse",
    "Me",
    "RequestSignInCode",
    "SignInWithCode",
    "RefreshToken",
    "SignOut",
)


@lru_cache(maxsize=1)
def page_operations() -> dict[str, str]:
    return {name: (OPERATIONS_DIR / f"{name}.graphql").read_text() for name in PAGE_OPERATIONS}


def page_messages() -> dict[str, str]:
    return {
        **error_messages(),
        "NOT_FOUND": _("This questionnaire does not exist."),
        "BUDGET_EXHAUSTED": _("All rewards of this questionnaire have been given out."),
        "ALREADY_RESPONDED": _("You have already answered this questionnaire."),
        "REQUIRED": _("Please answer this question."),
        "INVALID_OPTION": _("Choose one of the options."),
        "TOO_MANY_SELECTIONS": _("Too many options chosen."),
        "TOO_FEW_SELECTIONS": _("Choose more options."),
        "OUT_OF_RANGE": _("This number is out of range."),
        "TEXT_TOO_LONG": _("This answer is too long."),
        "TEXT_TOO_SHORT": _("This answer is too short."),
        "INVALID_ANSWER": _("Check this answer."),
        "INVALID_DATE": _("Give a valid date."),
        "HIDDEN_QUESTION_ANSWERED": _("This question does not apply."),
        "UNKNOWN_QUESTION": _("Reload the page: the questions have changed."),
    }


def page_texts() -> dict[str, str]:
    return {
        "points": _("Earn %(points)s points"),
        "state_NOT_ACTIVE": _("This questionnaire is not open right now."),
        "state_ENDED": _("This questionnaire has ended."),
        "state_BUDGET_EXHAUSTED": _("All rewards of this questionnaire have been given out."),
        "state_ALREADY_RESPONDED": _("You have already answered this questionnaire. Thank you!"),
        "submit": _("Submit and earn %(points)s points"),
        "submitting": _("Submitting…"),
        "code_sent": _("We sent a 6-digit code to %(phone)s."),
        "earned": _("Thank you! You earned %(points)s points"),
        "balance": _("Your wallet: %(balance)s points"),
        "fix_errors": _("Please check the answers marked below."),
        "required": _("Required"),
        "choose_up_to": _("Choose up to %(n)s"),
    }


def _campaign_exists(link: str) -> bool:
    parsed = parse_link(link)
    merchant = Merchant.find(parsed[0]) if parsed else None
    if merchant is None or parsed is None:
        return False
    with tenant_context(merchant):
        return Campaign.objects.filter(pk=parsed[1], kind=CampaignKind.QUESTIONNAIRE).exists()


@require_safe
def questionnaire_page(request: HttpRequest, link: str) -> HttpResponse:
    language = _language(request)
    with translation.override(language):
        context: dict[str, object] = {"language": language, "languages": settings.LANGUAGES}
        if _campaign_exists(link):
            parsed = parse_link(link)
            assert parsed is not None
            context.update(
                found=True,
                config={
                    "link": questionnaire_link(*parsed),
                    "api": reverse("consumer-api"),
                },
                operations=page_operations(),
                error_messages=page_messages(),
                texts=page_texts(),
            )
            status = 200
        else:
            context.update(found=False)
            status = 404
        response = render(request, "campaigns/questionnaire.html", context, status=status)
    response["Content-Language"] = language
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response


def _refusal(status: int, message: str) -> HttpResponse:
    return HttpResponse(
        message + "\n",
        status=status,
        content_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


@require_safe
def download_questionnaire_export(request: HttpRequest, token: str) -> HttpResponse:
    """A responses export (202 until rendered) or the poster, from a signed link."""
    try:
        merchant_id, campaign_id, name = questionnaire_exports.read_token(token)
    except signing.SignatureExpired:
        return _refusal(403, _("This download link has expired. Get a new one."))
    except signing.BadSignature:
        return _refusal(403, _("This download link is not valid."))
    merchant = Merchant.find(merchant_id)
    if merchant is None:
        return _refusal(404, _("Not found."))
    with tenant_context(merchant):
        campaign = (
            Campaign.objects.filter(pk=campaign_id, kind=CampaignKind.QUESTIONNAIRE)
            .select_related("questionnaire")
            .first()
        )
        if campaign is None:
            return _refusal(404, _("Not found."))
        if name == "poster":
            out = io.BytesIO()
            questionnaire_exports.write_poster(
                out,
                url=questionnaire_url(questionnaire_link(merchant.pk, campaign.pk)),
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
        return _refusal(202, _("The export is being prepared. Try again in a moment."))
    extension = name.rsplit(".", 1)[-1]
    response = FileResponse(
        default_storage.open(name, "rb"),
        as_attachment=True,
        filename=f"questionnaire-{campaign_id}-responses.{extension}",
        content_type=questionnaire_exports.CONTENT_TYPES.get(extension, "application/octet-stream"),
    )
    response["Cache-Control"] = "private, no-store"
    return response
