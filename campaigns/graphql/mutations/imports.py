"""Code import mutations of the merchant API: start an import of a printer's file (operator)."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene

from api.mutations import DomainMutation
from api.permissions import require_membership
from api.scalars import BigInt
from campaigns.error_codes import CampaignErrorCode
from campaigns.graphql.types.campaigns import campaign_by_id
from campaigns.graphql.types.imports import (
    CodeImportFormatEnum,
    CodeImportLayoutEnum,
    CodeImportNode,
)
from campaigns.scan import imports
from core.errors import ErrorCodeEnum
from points.error_codes import LedgerErrorCode
from tenants.models import Role


class CreateCodeImport(DomainMutation):
    """Import a file of codes printed by someone else as a new batch (operator).

    Gives `codeImport.uploadUrl`: POST the file there (multipart/form-data, field
    `file`), then poll the import's `status` and `linesRead`. The whole file is checked
    first; any refused line, or codes too guessable, and nothing is imported
    (`reportUrl` lists the refused lines). Imported, the batch is funded like a
    generated one (`INSUFFICIENT_BUDGET` fails the import, nothing written).
    """

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "pointsPerCode": LedgerErrorCode.INVALID_AMOUNT,
        "urlPattern": CampaignErrorCode.INVALID_URL_PATTERN,
    }

    class Arguments:
        campaign_id = graphene.ID(required=True)
        layout = CodeImportLayoutEnum(required=True)
        format = CodeImportFormatEnum(required=True)
        points_per_code = BigInt(required=True, description="1 to 1,000,000.")
        url_pattern = graphene.String(
            description=(
                "For URLS: the brand's URL with {code} where the code stands, at most "
                "300 characters."
            )
        )
        has_header = graphene.Boolean(description="The first line names the columns.")
        name = graphene.String(
            description="What the merchant calls this print run, at most 100 characters."
        )
        sku = graphene.String(
            description="The product (SKU) the labels go on, at most 64 characters."
        )
        hidden_code = graphene.Boolean(
            description=(
                "The batch's codes get hidden verification codes (刮开涂层), issued by its "
                "first CSV or PDF export; a file too guessable for IMPORT_LOW_ENTROPY is then "
                "accepted."
            )
        )

    code_import = graphene.Field(CodeImportNode)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        campaign_id: str,
        layout: Any,
        format: Any,
        points_per_code: int,
        url_pattern: str = "",
        has_header: bool = False,
        name: str = "",
        sku: str = "",
        hidden_code: bool | None = False,
    ) -> CreateCodeImport:
        membership = require_membership(info, Role.OPERATOR)
        campaign = campaign_by_id(info, campaign_id, "campaignId")
        code_import = imports.request_import(
            membership.merchant,
            campaign,
            layout=getattr(layout, "value", layout),
            file_format=getattr(format, "value", format),
            points_per_code=points_per_code,
            url_pattern=url_pattern or "",
            has_header=bool(has_header),
            name=name or "",
            sku=sku or "",
            hidden_code=bool(hidden_code),
            created_by=membership.acting_user,
        )
        return cls(code_import=code_import)
