"""Code imports in the merchant API: a printer's file followed from upload to its batch.

Rows of the merchant's schema with global IDs ``CodeImport:<merchant id>:<pk>`` (as
batches). ``uploadUrl`` and ``reportUrl`` are signed links (decision 0209) handed to
operators only, since the file holds live codes.
"""

from __future__ import annotations

import graphene
from graphene_django import DjangoObjectType

from api.permissions import require_membership
from campaigns import models
from campaigns.graphql.nodes import MerchantNode
from campaigns.graphql.types.campaigns import CampaignNode, CodeBatchNode
from campaigns.scan import imports
from campaigns.scan.entropy import MIN_BITS_PER_CODE
from tenants.models import Role

CodeImportLayoutEnum = graphene.Enum(
    "CodeImportLayout",
    [(value.upper(), value) for value in models.ImportLayout.values],
    description=(
        "CODES: one column, the code. CODE_BOX_SERIAL: code, box code, the printer's "
        "serial. URLS: one column, the brand's URL with the code inside (give `urlPattern`)."
    ),
)
CodeImportFormatEnum = graphene.Enum(
    "CodeImportFormat",
    [(value.upper(), value) for value in models.ImportFormat.values],
    description="CSV (UTF-8) or XLSX (the first sheet).",
)
CodeImportStatusEnum = graphene.Enum(
    "CodeImportStatus",
    [(value.upper(), value) for value in models.ImportStatus.values],
    description=(
        "uploading → validating → writing → imported; or refused (lines refused or too "
        "guessable: nothing imported) or failed (e.g. INSUFFICIENT_BUDGET)."
    ),
)


class CodeImportNode(MerchantNode, DjangoObjectType):
    """A file of codes printed by someone else, imported as a batch. Poll it by `node(id:)`."""

    campaign = graphene.Field(CampaignNode, required=True)
    batch = graphene.Field(CodeBatchNode, description="The batch, once imported.")
    layout = graphene.Field(CodeImportLayoutEnum, required=True)
    format = graphene.Field(CodeImportFormatEnum, required=True)
    status = graphene.Field(CodeImportStatusEnum, required=True)
    points_per_code = graphene.Int(required=True)
    lines_read = graphene.Int(required=True, description="Lines of the file checked so far.")
    accepted = graphene.Int(required=True, description="Lines whose code can be imported.")
    refused = graphene.Int(required=True, description="Lines refused (see `reportUrl`).")
    empty_lines = graphene.Int(required=True, description="Blank lines, skipped.")
    bits_per_code = graphene.Float(
        description=(
            "How guessable the codes are, in bits per code (ours carry 65); a file below "
            f"{MIN_BITS_PER_CODE:g} is refused."
        )
    )
    min_bits_per_code = graphene.Float(required=True)
    failure_code = graphene.String(description="Why the import was refused or failed.")
    failure_reason = graphene.String(description="The same, in words.")
    upload_url = graphene.String(
        description=(
            "While uploading, for operators: POST the file here as multipart/form-data, "
            "field `file`, within an hour."
        )
    )
    report_url = graphene.String(
        description="Once refused, for operators: the refused lines as CSV (15 minutes)."
    )

    node_related = ("campaign", "batch")

    class Meta:
        name = "CodeImport"
        model = models.CodeImport
        interfaces = (graphene.relay.Node,)
        fields = (
            "id",
            "name",
            "sku",
            "url_pattern",
            "has_header",
            "hidden_code",
            "created_at",
            "finished_at",
        )
        skip_registry = True

    @staticmethod
    def resolve_status(code_import: models.CodeImport, info: graphene.ResolveInfo) -> str:
        return models.ImportStatus(code_import.status).value

    @staticmethod
    def resolve_layout(code_import: models.CodeImport, info: graphene.ResolveInfo) -> str:
        return models.ImportLayout(code_import.layout).value

    @staticmethod
    def resolve_format(code_import: models.CodeImport, info: graphene.ResolveInfo) -> str:
        return models.ImportFormat(code_import.file_format).value

    @staticmethod
    def resolve_min_bits_per_code(
        code_import: models.CodeImport, info: graphene.ResolveInfo
    ) -> float:
        return MIN_BITS_PER_CODE

    @staticmethod
    def resolve_failure_code(
        code_import: models.CodeImport, info: graphene.ResolveInfo
    ) -> str | None:
        return code_import.failure_code or None

    @staticmethod
    def resolve_failure_reason(
        code_import: models.CodeImport, info: graphene.ResolveInfo
    ) -> str | None:
        return code_import.failure_reason or None

    @staticmethod
    def resolve_upload_url(
        code_import: models.CodeImport, info: graphene.ResolveInfo
    ) -> str | None:
        membership = require_membership(info)
        if (
            not membership.has_role(Role.OPERATOR)
            or code_import.status != models.ImportStatus.UPLOADING
        ):
            return None
        return info.context.build_absolute_uri(imports.upload_path(code_import))

    @staticmethod
    def resolve_report_url(
        code_import: models.CodeImport, info: graphene.ResolveInfo
    ) -> str | None:
        membership = require_membership(info)
        path = imports.report_path(code_import)
        if path is None or not membership.has_role(Role.OPERATOR):
            return None
        return info.context.build_absolute_uri(path)
