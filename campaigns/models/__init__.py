"""The campaigns app's models, one module per domain; Django loads them from here.

Every table lives in each merchant's schema. Import models from ``campaigns.models``;
the modules inside import each other directly, so that this package can list them all.
"""

from campaigns.models.campaigns import (
    TRANSITIONS,
    Campaign,
    CampaignError,
    CampaignKind,
    CampaignStatus,
)
from campaigns.models.codes import (
    MAX_BATCH_SIZE,
    BatchStatus,
    Claim,
    Code,
    CodeBatch,
    HiddenCode,
    ScanFailure,
)
from campaigns.models.exports import BatchExport, ExportFormat, ExportStatus
from campaigns.models.follow import Follow, FollowCampaign, FollowCode, FollowSource
from campaigns.models.imports import (
    CodeImport,
    CodeLabel,
    ImportFormat,
    ImportLayout,
    ImportLine,
    ImportRefusal,
    ImportStatus,
    RefusalReason,
)
from campaigns.models.prizes import GENESIS, PrizeDraw, PrizeSeed, PrizeTable, PrizeTier
from campaigns.models.questionnaires import (
    Questionnaire,
    QuestionnaireOpen,
    QuestionnaireVersion,
    Response,
)
from campaigns.models.scans import (
    CodeScans,
    ScanDay,
    ScanEvent,
    ScanSource,
    SuspicionReason,
    UserAgentClass,
)

__all__ = [
    "GENESIS",
    "MAX_BATCH_SIZE",
    "TRANSITIONS",
    "BatchExport",
    "BatchStatus",
    "Campaign",
    "CampaignError",
    "CampaignKind",
    "CampaignStatus",
    "Claim",
    "Code",
    "CodeBatch",
    "CodeImport",
    "CodeLabel",
    "CodeScans",
    "ExportFormat",
    "ExportStatus",
    "Follow",
    "FollowCampaign",
    "FollowCode",
    "FollowSource",
    "HiddenCode",
    "ImportFormat",
    "ImportLayout",
    "ImportLine",
    "ImportRefusal",
    "ImportStatus",
    "PrizeDraw",
    "PrizeSeed",
    "PrizeTable",
    "PrizeTier",
    "Questionnaire",
    "QuestionnaireOpen",
    "QuestionnaireVersion",
    "RefusalReason",
    "Response",
    "ScanDay",
    "ScanEvent",
    "ScanFailure",
    "ScanSource",
    "SuspicionReason",
    "UserAgentClass",
]
