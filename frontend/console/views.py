"""The merchant console's pages: server-rendered shells, one ES module per screen.

Each screen names the merchant API operations its script may send; the page embeds
those documents (read from ``graphql/operations/merchant/``), the console's error
messages and texts (``frontend.console.messages``) and the URLs of the other screens.
The pages themselves read no merchant data: the script signs in and asks the API,
so the server stays the one authority on who may see and do what.
"""

from __future__ import annotations

from collections.abc import Callable
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
    # Values from the API's own enums that the screen builds its controls from (the
    # scopes a key can have, the events an endpoint can take), added to its config so
    # that the console never keeps a copy of a list the schema owns.
    choices: Callable[[], dict[str, Any]] | None = None


def _key_scopes() -> dict[str, Any]:
    from tenants.models import ApiScope

    # The schema's ApiKeyScope names each value "campaigns:read" as CAMPAIGNS_READ.
    return {
        "scopes": [
            {"value": value.replace(":", "_").upper(), "scope": value, "label": str(label)}
            for value, label in ApiScope.choices
        ]
    }


def _event_types() -> dict[str, Any]:
    from webhooks.models import EventType

    # WebhookEventType: "code.claimed" is CODE_CLAIMED; labels are in messages.texts().
    return {
        "eventTypes": [
            {"value": value.replace(".", "_").upper(), "type": value} for value in EventType.values
        ]
    }


def _regions_url() -> dict[str, Any]:
    # The division data the consumers' address picker reads (GB/T 2260, decision 0240).
    return {"regionsUrl": reverse("regions")}


def _mutations() -> dict[str, Any]:
    from api.schema import merchant_schema

    # The audit log's operation filter offers every mutation the merchant API has.
    mutation_type = merchant_schema.graphql_schema.mutation_type
    return {"mutations": sorted(mutation_type.fields) if mutation_type else []}


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
            ("Dashboard", "Analytics", "AnalyticsCsv", "RefreshAnalytics"),
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
                "LabelPreview",
                # The prize table editor: tiers, odds, reserve, locked terms and stats.
                "PrizeTable",
                "SetPrizeTable",
                "ClearPrizeTable",
                "SuppliedProducts",
                "MerchantLogo",
                "MerchantLogoUpload",
                "MerchantLogoRemove",
            ),
            charts=True,
            nav="campaigns",
        ),
        # Codes printed by someone else, imported into a scan campaign (码包导入).
        Screen(
            "imports",
            _("Import codes"),
            ("Campaign", "CreateCodeImport", "CodeImport", "CodeImports"),
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
        Screen(
            "ledger",
            _("Ledger"),
            ("LedgerMovements", "LedgerCsv", "Campaigns", "RequestTopUp"),
            nav="ledger",
        ),
        # 防伪: codes that look copied, and any code's scan history.
        Screen(
            "scans",
            _("Suspicious codes"),
            ("ScansPerDay", "SuspiciousCodes", "CodeScans"),
            nav="scans",
        ),
        # 经销商: dealers, their sales regions, the goods each got, campaigns' refusal setting.
        Screen(
            "dealers",
            _("Dealers and sales regions"),
            (
                "Dealers",
                "CreateDealer",
                "UpdateDealer",
                "DeleteDealer",
                "DealerAssignments",
                "AssignToDealer",
                "UnassignFromDealer",
                "DealerCampaigns",
                "CampaignDiversionAction",
                "SetCampaignDiversionAction",
            ),
            nav="dealers",
            choices=_regions_url,
        ),
        # 防窜货: diversion by province, city and dealer; scans by region with a CSV.
        Screen(
            "diversion",
            _("Diversion"),
            ("DiversionTotals", "ScanStats", "ScanStatsCsv", "DiversionEvents"),
            nav="diversion",
        ),
        Screen(
            "staff",
            _("Staff and roles"),
            ("Staff", "StaffInvite", "StaffChangeRole", "StaffRemove"),
            nav="staff",
        ),
        Screen(
            "webhooks",
            _("Webhooks"),
            (
                "WebhookEndpoints",
                "WebhookEndpointCreate",
                "WebhookEndpointUpdate",
                "WebhookEndpointDelete",
                "WebhookDeliveries",
                "WebhookDelivery",
                "WebhookRedeliver",
            ),
            nav="webhooks",
            choices=_event_types,
        ),
        Screen(
            "api_keys",
            _("API keys"),
            ("ApiKeys", "ApiKeyCreate", "ApiKeyRevoke"),
            nav="api_keys",
            choices=_key_scopes,
        ),
        Screen("audit", _("Audit log"), ("AuditLog",), nav="audit", choices=_mutations),
        # 关注有礼: follow campaigns (a verified service account only).
        Screen(
            "follow",
            _("Follow campaigns"),
            (
                "FollowCampaigns",
                "CreateFollowCampaign",
                "MakeFollowPoster",
                "ActivateCampaign",
                "PauseCampaign",
                "EndCampaign",
                "OfficialAccount",
            ),
            nav="campaigns",
        ),
        # 积分规则: how purchases reported through the API earn, and the bonuses.
        Screen(
            "earning",
            _("Earning rule"),
            ("EarningRule", "SetEarningRule"),
            nav="earning",
        ),
        # 微信公众号: authorise the merchant's official account to our third-party platform.
        Screen(
            "wechat",
            _("WeChat official account"),
            (
                "OfficialAccount",
                "OfficialAccountAuthorizeStart",
                "OfficialAccountAuthorizeComplete",
            ),
            nav="wechat",
        ),
    )
}

# (key, URL name, label, the lowest role that sees the link: the API's own rule for
# the screen's list, so that nobody is offered a screen that only says "refused").
NAV = (
    ("dashboard", "console-dashboard", _("Dashboard"), ""),
    ("campaigns", "console-campaigns", _("Campaigns"), ""),
    ("goods", "console-goods", _("Goods and orders"), ""),
    ("ledger", "console-ledger", _("Ledger"), ""),
    ("earning", "console-earning", _("Earning rule"), ""),
    ("scans", "console-scans", _("Suspicious codes"), ""),
    ("dealers", "console-dealers", _("Dealers"), ""),
    ("diversion", "console-diversion", _("Diversion"), ""),
    ("staff", "console-staff", _("Staff"), ""),
    ("webhooks", "console-webhooks", _("Webhooks"), ""),
    ("wechat", "console-wechat", _("WeChat account"), ""),
    ("api_keys", "console-api-keys", _("API keys"), "ADMIN"),
    ("audit", "console-audit", _("Audit log"), "OWNER"),
)


def urls() -> dict[str, str]:
    """Where each screen lives, for the scripts' links (one place for every path)."""
    names = ["sign_in", "sign_up", "accept_invitation", "dashboard", "campaigns", "campaign"]
    names += ["questionnaire", "results", "questionnaire_new", "goods", "ledger", "staff"]
    names += ["webhooks", "api_keys", "audit", "wechat", "imports", "scans", "dealers"]
    names += ["diversion", "earning"]
    return {name: reverse(f"console-{name.replace('_', '-')}") for name in names}


def page(screen_name: str) -> Any:
    screen = SCREENS[screen_name]

    @require_safe
    def view(request: HttpRequest) -> HttpResponse:
        def context() -> dict[str, Any]:
            return {
                "screen": screen,
                "nav": [(key, reverse(url), label, role) for key, url, label, role in NAV],
                "config": {
                    "screen": screen.name,
                    "api": reverse("merchant-api"),
                    "urls": urls(),
                    **(screen.choices() if screen.choices else {}),
                },
                "operations": operations("merchant", SESSION + screen.operations),
                "error_messages": error_messages(),
                "texts": texts(),
            }

        return render_page(request, f"console/{screen.name}.html", context)

    view.__name__ = f"{screen_name}_page"
    return view
