"""Batch export mutations of the merchant API: print a ready batch (operator)."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene

from api.mutations import DomainMutation
from api.permissions import require_membership
from campaigns.error_codes import CampaignErrorCode
from campaigns.exports import render, service
from campaigns.graphql.types.campaigns import batch_by_id
from campaigns.graphql.types.exports import (
    BatchExportFormatEnum,
    BatchExportNode,
    LabelStockEnum,
)
from core.errors import ErrorCodeEnum
from tenants.models import Role


class RequestBatchExport(DomainMutation):
    """Render a ready batch as CSV, ZIP of QR images or PDF label sheets (operator).

    Rendering runs in the background: poll the export's ``status`` and ``progress``;
    once ready, ``downloadUrl`` gives the file. ``BATCH_NOT_READY`` for a batch that is
    generating, failed or void; ``INVALID_GRID`` for a PDF grid out of bounds. A roll
    ``stock`` prints one label per page and ignores ``columns`` and ``rows``.
    """

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "columns": CampaignErrorCode.INVALID_GRID,
        "rows": CampaignErrorCode.INVALID_GRID,
    }

    class Arguments:
        batch_id = graphene.ID(required=True)
        format = BatchExportFormatEnum(required=True)
        stock = LabelStockEnum(description="PDF: what the labels are printed on (default A4).")
        columns = graphene.Int(
            description=(
                f"PDF: labels across an A4 page, {render.MIN_COLUMNS} to "
                f"{render.MAX_COLUMNS} (default {render.DEFAULT_COLUMNS})."
            )
        )
        rows = graphene.Int(
            description=(
                f"PDF: labels down an A4 page, {render.MIN_ROWS} to {render.MAX_ROWS} "
                f"(default {render.DEFAULT_ROWS})."
            )
        )

    export = graphene.Field(BatchExportNode)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        batch_id: str,
        format: Any,
        stock: Any = None,
        columns: int | None = None,
        rows: int | None = None,
    ) -> RequestBatchExport:
        membership = require_membership(info, Role.OPERATOR)
        batch = batch_by_id(info, batch_id, "batchId")
        export = service.request_export(
            batch,
            getattr(format, "value", format),
            stock=getattr(stock, "value", stock),
            columns=columns,
            rows=rows,
            requested_by=membership.acting_user,
        )
        return cls(export=export)
