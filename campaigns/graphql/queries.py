"""The campaigns' root query fields of both APIs, the pieces ``api.schema`` stitches.

The fields are listed in the order the SDL snapshots (``graphql/*.graphql``) have them:
add new ones at the end.
"""

from __future__ import annotations

from typing import Any, ClassVar

import graphene
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _
from graphene_django import DjangoConnectionField

from api.permissions import client_ip, require_membership
from api.scalars import JSONString
from campaigns import models
from campaigns.error_codes import CampaignErrorCode, QuestionnaireErrorCode
from campaigns.exports import render
from campaigns.exports import service as exports
from campaigns.graphql.types.campaigns import (
    CampaignConnectionField,
    CampaignKindEnum,
    CampaignNode,
    CampaignStatusEnum,
    ScanFailureDay,
    batch_by_id,
    campaign_by_id,
)
from campaigns.graphql.types.dashboard import Dashboard, DashboardRoot
from campaigns.graphql.types.exports import (
    BatchExportConnectionField,
    BatchExportNode,
    LabelPreview,
    LabelStockEnum,
)
from campaigns.graphql.types.follow import FollowCampaignNode
from campaigns.graphql.types.imports import CodeImportNode
from campaigns.graphql.types.prizes import PrizeTableType
from campaigns.graphql.types.questionnaires import QuestionnaireForm, QuestionnaireNode
from campaigns.graphql.types.scan import PreviewPrizeTier, ScanPreview
from campaigns.graphql.types.scans import (
    CodeScanHistory,
    CodeScansRecord,
    CodeVerification,
    ScanDayTotals,
)
from campaigns.prizes import services as prize_services
from campaigns.questionnaires import services as questionnaires
from campaigns.questionnaires.links import in_merchant_schema, link_not_found, questionnaire_link
from campaigns.scan import events, history, stats
from campaigns.scan.preview import Preview, preview_code
from campaigns.scan.verification import Verification, verify_code
from core.errors import DomainError, ErrorCodeEnum


def _consumer_or_none(info: graphene.ResolveInfo) -> Any:
    """The signed-in consumer, or None (anonymous, or staff looking at the page)."""
    user = info.context.user
    return user if user.is_authenticated and user.is_consumer else None


class ConsumerQueries(graphene.ObjectType):
    questionnaire = graphene.Field(
        QuestionnaireForm,
        link=graphene.String(required=True, description="From /q/<link>."),
        answers=JSONString(description="Answers so far, to apply the conditions."),
        description=(
            "A questionnaire by its link. Public; signed in, it counts as opened (completion "
            "rate) and `state` tells whether the consumer has already answered. NOT_FOUND for "
            "an unknown link."
        ),
    )
    scan_preview = graphene.Field(
        ScanPreview,
        required=True,
        code=graphene.String(required=True),
        hidden_code=graphene.String(
            description=(
                "The hidden code under the label's scratch-off, for an imported code whose "
                "batch has them (HIDDEN_CODE_REQUIRED without it; HIDDEN_CODE_WRONG, limited "
                "per code and per client, for a wrong one). Ignored for other codes."
            )
        ),
        description=(
            "What a scanned code offers. Public (no sign-in). A malformed code or typo is "
            "an error (MALFORMED_CODE, INVALID_CHECK_CHARACTER); guesses count toward a "
            "per-IP limit (RATE_LIMITED). An imported code whose label has a hidden code is "
            "described only with it."
        ),
    )

    verify_code = graphene.Field(
        CodeVerification,
        required=True,
        code=graphene.String(required=True, description="As scanned or typed; case-insensitive."),
        hidden_code=graphene.String(
            description=(
                "The hidden code under the label's scratch-off, when its batch has them "
                "(HIDDEN_CODE_REQUIRED without it; HIDDEN_CODE_WRONG, limited per code and "
                "per client, for a wrong one)."
            )
        ),
        description=(
            "The anti-counterfeit answer (防伪查询) for a code: genuine or not, the product, "
            "its first scan and how often it was looked up. Public; limited per IP as "
            "scanPreview is. Never says who scanned it."
        ),
    )

    @staticmethod
    def resolve_questionnaire(
        root: Any, info: graphene.ResolveInfo, link: str, answers: Any = None
    ) -> QuestionnaireForm:
        consumer = _consumer_or_none(info)
        if answers is not None and not isinstance(answers, dict):
            raise DomainError(
                QuestionnaireErrorCode.INVALID_ANSWER, _("Answers must be an object."), "answers"
            )
        with in_merchant_schema(link, models.CampaignKind.QUESTIONNAIRE) as (merchant, campaign_id):
            form = questionnaires.consumer_form(campaign_id, consumer, answers or {})
            if form is None:
                raise link_not_found()
            return QuestionnaireForm(
                link=questionnaire_link(merchant.pk, form.campaign.link_key),
                merchant_name=merchant.name,
                campaign_name=form.campaign.name,
                description=form.campaign.description,
                points_per_response=form.questionnaire.points_per_response,
                state=form.state.value,
                questions=form.questions,
                prize_tiers=PreviewPrizeTier.list_of(form.prize.tiers) if form.prize else None,
                prize_guarantee=form.prize.guarantee if form.prize else None,
            )

    @staticmethod
    def resolve_scan_preview(
        root: Any, info: graphene.ResolveInfo, code: str, hidden_code: str | None = None
    ) -> Preview:
        consumer = _consumer_or_none(info)
        scanner = events.Scanner.from_request(info.context, consumer.pk if consumer else None)
        with events.scanned(models.ScanSource.PREVIEW, code, scanner) as scan:
            preview = preview_code(code, ip=client_ip(info.context), hidden_code=hidden_code)
            scan.outcome = preview.status.lower()
        return preview

    @staticmethod
    def resolve_verify_code(
        root: Any, info: graphene.ResolveInfo, code: str, hidden_code: str | None = None
    ) -> Verification:
        consumer = _consumer_or_none(info)
        scanner = events.Scanner.from_request(info.context, consumer.pk if consumer else None)
        return verify_code(code, scanner, hidden_code)


class MerchantQueries(graphene.ObjectType):
    refusal_codes: ClassVar[dict[str, dict[str, ErrorCodeEnum]]] = {
        "scanFailures": {"days": CampaignErrorCode.INVALID_PERIOD},
        "dashboard": {"days": CampaignErrorCode.INVALID_PERIOD},
        "labelPreview": {
            "columns": CampaignErrorCode.INVALID_GRID,
            "rows": CampaignErrorCode.INVALID_GRID,
        },
        "scansPerDay": {"days": CampaignErrorCode.INVALID_PERIOD},
    }

    questionnaires = DjangoConnectionField(
        QuestionnaireNode,
        status=CampaignStatusEnum(),
        description="The merchant's questionnaires, newest first. One by ID: `node(id:)`.",
    )
    batch_exports = BatchExportConnectionField(
        BatchExportNode,
        batch_id=graphene.ID(description="Only this batch's exports."),
        description="The merchant's batch exports, newest first.",
    )
    campaigns = CampaignConnectionField(
        CampaignNode,
        status=CampaignStatusEnum(),
        kind=CampaignKindEnum(),
        search=graphene.String(
            description="Only campaigns whose name contains this text, at most 100 characters."
        ),
        description="The merchant's campaigns, newest first.",
    )
    scan_failures = graphene.List(
        graphene.NonNull(ScanFailureDay),
        required=True,
        days=graphene.Int(default_value=30, description=f"1 to {stats.MAX_DAYS}."),
        description="Failed scans of the merchant's codes per day and reason, newest day first.",
    )
    dashboard = graphene.Field(
        Dashboard,
        required=True,
        days=graphene.Int(default_value=30, description=f"1 to {stats.MAX_DAYS}."),
        time_zone=graphene.String(description="IANA name, e.g. Asia/Shanghai (default UTC)."),
        description="Points, earnings per day, active consumers and top campaigns.",
    )
    prize_table = graphene.Field(
        PrizeTableType,
        campaign_id=graphene.ID(required=True),
        description="A campaign's prize table with its odds, stats and draw log head; null "
        "for a campaign that pays fixed points.",
    )

    code_imports = DjangoConnectionField(
        CodeImportNode,
        campaign_id=graphene.ID(description="Only this campaign's imports."),
        description="The merchant's code imports, newest first. One by ID: `node(id:)`.",
    )

    label_preview = graphene.Field(
        LabelPreview,
        required=True,
        batch_id=graphene.ID(required=True),
        stock=LabelStockEnum(description="What the labels are printed on (default A4)."),
        columns=graphene.Int(
            description=f"Labels across an A4 page, {render.MIN_COLUMNS} to {render.MAX_COLUMNS}."
        ),
        rows=graphene.Int(
            description=f"Labels down an A4 page, {render.MIN_ROWS} to {render.MAX_ROWS}."
        ),
        description=(
            "The first page of a batch's PDF labels as the export would print it (sample "
            "codes): to choose a stock before exporting. Any role. INVALID_GRID, "
            "INVALID_LABEL_STOCK, NOT_FOUND."
        ),
    )

    suspicious_codes = DjangoConnectionField(
        CodeScansRecord,
        description="Codes that look copied (many lookups, or far apart), newest first.",
    )
    code_scans = graphene.Field(
        CodeScanHistory,
        required=True,
        code=graphene.String(required=True, description="As scanned or typed; case-insensitive."),
        latest=graphene.Int(
            default_value=50, description=f"Latest scans to list, 1 to {history.MAX_HISTORY}."
        ),
        description="One of the merchant's codes: product, scan summary and latest scans.",
    )
    scans_per_day = graphene.List(
        graphene.NonNull(ScanDayTotals),
        required=True,
        days=graphene.Int(default_value=7, description=f"1 to {history.MAX_DAYS}."),
        description="Scans of the merchant's codes per day, newest first (from the rollups).",
    )

    follow_campaigns = DjangoConnectionField(
        FollowCampaignNode,
        status=CampaignStatusEnum(),
        description="The merchant's follow campaigns, newest first. One by ID: `node(id:)`.",
    )

    @staticmethod
    def resolve_questionnaires(
        root: Any, info: graphene.ResolveInfo, status: Any = None, **kwargs: Any
    ) -> QuerySet[models.Questionnaire]:
        require_membership(info)
        found = models.Questionnaire.objects.select_related("campaign", "current_version").annotate(
            rewarded=Count("campaign__responses")
        )
        if status is not None:
            found = found.filter(campaign__status=getattr(status, "value", status))
        return found.order_by("-campaign__created_at", "-id")

    @staticmethod
    def resolve_batch_exports(
        root: Any, info: graphene.ResolveInfo, batch_id: str | None = None, **kwargs: Any
    ) -> QuerySet[models.BatchExport]:
        require_membership(info)
        queryset = models.BatchExport.objects.select_related("batch__campaign").order_by(
            "-created_at", "-id"
        )
        if batch_id is not None:
            queryset = queryset.filter(batch=batch_by_id(info, batch_id, "batchId"))
        return queryset

    @staticmethod
    def resolve_campaigns(
        root: Any,
        info: graphene.ResolveInfo,
        status: Any = None,
        kind: Any = None,
        search: str | None = None,
        **kwargs: Any,
    ) -> QuerySet[models.Campaign]:
        require_membership(info)
        campaigns = models.Campaign.objects.prefetch_related("batches").order_by(
            "-created_at", "-id"
        )
        if status is not None:
            campaigns = campaigns.filter(status=getattr(status, "value", status))
        if kind is not None:
            campaigns = campaigns.filter(kind=getattr(kind, "value", kind))
        if search and search.strip():
            campaigns = campaigns.filter(name__icontains=search.strip())
        return campaigns

    @staticmethod
    def resolve_scan_failures(
        root: Any, info: graphene.ResolveInfo, days: int
    ) -> list[models.ScanFailure]:
        require_membership(info)
        return stats.failures_per_day(days)

    @staticmethod
    def resolve_follow_campaigns(
        root: Any, info: graphene.ResolveInfo, status: Any = None, **kwargs: Any
    ) -> QuerySet[models.FollowCampaign]:
        require_membership(info)
        found = models.FollowCampaign.objects.select_related("campaign")
        if status is not None:
            found = found.filter(campaign__status=getattr(status, "value", status))
        return found.order_by("-campaign__created_at", "-id")

    @staticmethod
    def resolve_dashboard(
        root: Any, info: graphene.ResolveInfo, days: int, time_zone: str | None = None
    ) -> DashboardRoot:
        membership = require_membership(info)
        days = stats.check_window(days, stats.MAX_DAYS, "days")
        return DashboardRoot(membership.merchant_id, days, stats.time_zone(time_zone))

    @staticmethod
    def resolve_prize_table(
        root: Any, info: graphene.ResolveInfo, campaign_id: str
    ) -> models.PrizeTable | None:
        require_membership(info)
        return prize_services.table_of(campaign_by_id(info, campaign_id, "campaignId"))

    @staticmethod
    def resolve_code_imports(
        root: Any, info: graphene.ResolveInfo, campaign_id: str | None = None, **kwargs: Any
    ) -> QuerySet[models.CodeImport]:
        require_membership(info)
        found = models.CodeImport.objects.select_related("campaign", "batch").order_by(
            "-created_at", "-id"
        )
        if campaign_id is not None:
            found = found.filter(campaign=campaign_by_id(info, campaign_id, "campaignId"))
        return found

    @staticmethod
    def resolve_label_preview(
        root: Any,
        info: graphene.ResolveInfo,
        batch_id: str,
        stock: Any = None,
        columns: int | None = None,
        rows: int | None = None,
    ) -> LabelPreview:
        require_membership(info)
        batch = batch_by_id(info, batch_id, "batchId")
        preview = exports.label_preview(
            batch, stock=getattr(stock, "value", stock), columns=columns, rows=rows
        )
        width, height = preview.grid.page_size
        return LabelPreview(
            image=preview.data_url,
            stock=preview.grid.stock.key,
            width_mm=round(width / render.mm, 1),
            height_mm=round(height / render.mm, 1),
            labels_per_page=preview.grid.per_page,
            pages=preview.pages,
        )

    @staticmethod
    def resolve_suspicious_codes(
        root: Any, info: graphene.ResolveInfo, **kwargs: Any
    ) -> QuerySet[models.CodeScans]:
        require_membership(info)
        return history.suspicious_codes()

    @staticmethod
    def resolve_code_scans(
        root: Any, info: graphene.ResolveInfo, code: str, latest: int
    ) -> history.History:
        require_membership(info)
        return history.code_history(code, latest)

    @staticmethod
    def resolve_scans_per_day(
        root: Any, info: graphene.ResolveInfo, days: int
    ) -> list[history.ScanDayTotals]:
        require_membership(info)
        return history.scans_per_day(days)
