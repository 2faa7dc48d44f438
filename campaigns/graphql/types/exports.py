"""Batch exports in the merchant API: a ready batch printed as a file, followed until ready.

Exports are rows of the merchant's schema like the batches they render, with the
same kind of global ID (``BatchExport:<merchant id>:<pk>``, see
``campaigns.graphql.nodes.MerchantNode``). Any staff member sees exports and their
progress; ``downloadUrl`` needs the operator role, because the file holds live codes
that anyone can claim points with (docs/decisions/0033).
"""

from __future__ import annotations

from typing import Any

import graphene
from graphene_django import DjangoConnectionField, DjangoObjectType

from api.permissions import require_membership
from api.scalars import BigInt
from campaigns import models
from campaigns.exports import render, service
from campaigns.graphql.nodes import MerchantNode
from campaigns.graphql.types.campaigns import CodeBatchNode
from campaigns.scan import stats
from tenants.models import Role

BatchExportFormatEnum = graphene.Enum(
    "BatchExportFormat",
    [(value.upper(), value) for value in models.ExportFormat.values],
    description=(
        "CSV: one row per code (code, url). ZIP: a PNG and an SVG QR image per code. "
        "PDF: A4 label sheets (a ZIP of PDF volumes above "
        f"{render.PDF_LABELS_PER_FILE:,} labels)."
    ),
)
LabelStockEnum = graphene.Enum(
    "LabelStock",
    [(key.upper(), key) for key in render.LABEL_STOCKS],
    description=(
        "What PDF labels are printed on. A4: sheets cut into a grid (columns x rows). "
        "ROLL_30X20, ROLL_40X30, ROLL_50X30: a roll of labels of that size in millimetres "
        "for a thermal label printer, one label per PDF page."
    ),
)
BatchExportStatusEnum = graphene.Enum(
    "BatchExportStatus",
    [(value.upper(), value) for value in models.ExportStatus.values],
    description="pending → running → ready or failed.",
)


class BatchExportNode(MerchantNode, DjangoObjectType):
    """A file rendered from a ready batch. Poll it with `node(id:)` for progress."""

    batch = graphene.Field(CodeBatchNode, required=True)
    format = graphene.Field(BatchExportFormatEnum, required=True)
    status = graphene.Field(BatchExportStatusEnum, required=True)
    progress = graphene.Int(required=True, description="Codes written so far.")
    total = graphene.Int(required=True, description="Codes to write (the batch's size).")
    progress_percent = graphene.Float(required=True, description="0 to 100, one decimal.")
    stock = graphene.Field(LabelStockEnum, description="PDF only: what the labels are printed on.")
    columns = graphene.Int(description="PDF only: labels across a page.")
    rows = graphene.Int(description="PDF only: labels down a page.")
    file_size = BigInt(description="Bytes, once ready.")
    error = graphene.String(description="Why rendering failed, if it did.")
    download_url = graphene.String(
        description=(
            "A link that downloads the file, valid for 15 minutes (ask again for a fresh "
            "one). Null unless the export is ready, its batch is not void, and you have "
            "the operator role or higher."
        )
    )

    node_related = ("batch__campaign",)

    class Meta:
        name = "BatchExport"
        model = models.BatchExport
        interfaces = (graphene.relay.Node,)
        fields = ("id", "created_at", "started_at", "finished_at")
        skip_registry = True

    # A row just created holds the TextChoices member, which graphene's enum cannot
    # serialise: hand it the plain value.
    @staticmethod
    def resolve_status(export: models.BatchExport, info: graphene.ResolveInfo) -> str:
        return models.ExportStatus(export.status).value

    @staticmethod
    def resolve_format(export: models.BatchExport, info: graphene.ResolveInfo) -> str:
        return models.ExportFormat(export.format).value

    @staticmethod
    def resolve_progress_percent(export: models.BatchExport, info: graphene.ResolveInfo) -> float:
        return round(100.0 * export.progress / export.total, 1) if export.total else 100.0

    @staticmethod
    def resolve_stock(export: models.BatchExport, info: graphene.ResolveInfo) -> str | None:
        if export.format != models.ExportFormat.PDF:
            return None
        return str(export.options.get("stock", render.A4_SHEET.key))

    @staticmethod
    def resolve_columns(export: models.BatchExport, info: graphene.ResolveInfo) -> int | None:
        return export.options.get("columns")

    @staticmethod
    def resolve_rows(export: models.BatchExport, info: graphene.ResolveInfo) -> int | None:
        return export.options.get("rows")

    @staticmethod
    def resolve_error(export: models.BatchExport, info: graphene.ResolveInfo) -> str | None:
        return export.error or None

    @staticmethod
    def resolve_download_url(export: models.BatchExport, info: graphene.ResolveInfo) -> str | None:
        membership = require_membership(info)
        if not membership.has_role(Role.OPERATOR) or not service.is_downloadable(export):
            return None
        path = service.download_path(membership.merchant.schema_name, export)
        return info.context.build_absolute_uri(path)


class BatchExportConnectionField(DjangoConnectionField):
    @classmethod
    def resolve_connection(
        cls, connection: Any, args: Any, iterable: Any, max_limit: int | None = None
    ) -> Any:
        result = super().resolve_connection(connection, args, iterable, max_limit)
        # The page's batches (loaded with it) share one stats loader, as batch pages do.
        stats.share_loader([edge.node.batch for edge in result.edges], "batch")
        return result


class LabelPreview(graphene.ObjectType):
    """One page of a batch's PDF labels as the export would print it, with sample codes."""

    image = graphene.String(
        required=True, description="The page as a PNG `data:` URL (sample codes of zeros)."
    )
    stock = graphene.Field(LabelStockEnum, required=True)
    width_mm = graphene.Float(required=True, description="The page's width in millimetres.")
    height_mm = graphene.Float(required=True, description="The page's height in millimetres.")
    labels_per_page = graphene.Int(required=True)
    pages = graphene.Int(required=True, description="Pages of the whole batch.")
