"""The merchant console's pages: server-rendered shells, one ES module per screen.

Each screen names the merchant API operations its script may send; the page embeds
those documents (read from ``graphql/operations/merchant/``), the console's error
messages and texts (``frontend.console.messages``) and the URLs of the other screens.
The pages themselves read no merchant data: the script signs in and asks the API,
so the server stays the one authority on who may see and do what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from frontend.console.messages import error_messages, texts
from frontend.pages import operations, render_page

# Every screen may refresh tokens, learn who is signed in and where, and sign out.
SESSION = ("Me", "Merchant", "RefreshToken", "SignOut")


@dataclass(frozen=True)
class Screen:
    name: str
    title: Promise
    operations: tuple[str, ...]
    charts: bool = False
    nav: str = ""  # the navigation entry highlighted on this screen


SCREENS: dict[str, Screen] = {
    screen.name: screen
    for screen in (
        Screen("sign_in", _("Sign in"), ("StaffSignIn",)),
        # Self-service sign-up: an application the platform's operators review.
        Screen("sign_up", _("Apply for a merchant account"), ("MerchantSignUp",)),
        # The link in an invitation email: choose a password, then sign in.
        Screen("accept_invitation", _("Join the merchant"), ("AcceptInvitation",)),
        Screen(
            "dashboard",
            _("Dashboard"),
            ("Dashboard", "Analytics", "AnalyticsCsv"),
            charts=True,
            nav="dashboard",
        ),
        Screen(
            "campaigns",
            _("Campaigns"),
            ("Campaigns", "Questionnaires", "CreateScanCampaign"),
            nav="campaigns",
        ),
        Screen(
            "campaign",
            _("Campaign"),
            (
                "Campaign",
                "CampaignStats",
                "UpdateCampaign",
                "ActivateCampaign",
                "PauseCampaign",
                "EndCampaign",
                "CreateCodeBatch",
                "CodeBatch",
                "VoidCodeBatch",
                "RequestBatchExport",
                "BatchExport",
                "BatchExports",
            ),
            charts=True,
            nav="campaigns",
        ),
        Screen(
            "questionnaire",
            _("Questionnaire"),
            (
                "Questionnaire",
                "CreateQuestionnaire",
                "EditQuestions",
                "ActivateCampaign",
                "PauseCampaign",
                "EndCampaign",
            ),
            nav="campaigns",
        ),
        Screen(
            "results",
            _("Questionnaire results"),
            ("QuestionnaireResults", "QuestionnaireTextAnswers", "RequestQuestionnaireExport"),
            charts=True,
            nav="campaigns",
        ),
        Screen(
            "goods",
            _("Goods and orders"),
            (
                "SuppliedProducts",
                "MallCategories",
                "ConsignProduct",
                "SupplierOrders",
                "ShipOrder",
                "RefundOrder",
                "Settlement",
            ),
            nav="goods",
        ),
        Screen("ledger", _("Ledger"), ("Ledger",), nav="ledger"),
        Screen(
            "staff",
            _("Staff and roles"),
            ("Staff", "StaffInvite", "StaffChangeRole", "StaffRemove"),
            nav="staff",
        ),
    )
}

NAV = (
    ("dashboard", "console-dashboard", _("Dashboard")),
    ("campaigns", "console-campaigns", _("Campaigns")),
    ("goods", "console-goods", _("Goods and orders")),
    ("ledger", "console-ledger", _("Ledger")),
    ("staff", "console-staff", _("Staff")),
)


def urls() -> dict[str, str]:
    """Where each screen lives, for the scripts' links (one place for every path)."""
    names = ["sign_in", "sign_up", "accept_invitation", "dashboard", "campaigns", "campaign"]
    names += ["questionnaire", "results", "questionnaire_new", "goods", "ledger", "staff"]
    return {name: reverse(f"console-{name.replace('_', '-')}") for name in names}


def page(screen_name: str) -> Any:
    screen = SCREENS[screen_name]

    @require_safe
    def view(request: HttpRequest) -> HttpResponse:
        def context() -> dict[str, Any]:
            return {
                "screen": screen,
                "nav": [(key, reverse(url), label) for key, url, label in NAV],
                "config": {
                    "screen": screen.name,
                    "api": reverse("merchant-api"),
                    "urls": urls(),
                },
                "operations": operations("merchant", SESSION + screen.operations),
                "error_messages": error_messages(),
                "texts": texts(),
            }

        return render_page(request, f"console/{screen.name}.html", context)

    view.__name__ = f"{screen_name}_page"
    return view
