"""Error codes of this domain (joined into the APIs' ``ErrorCode`` enum by ``api.errors``)."""

from core.errors import ErrorCodeEnum


class CampaignErrorCode(ErrorCodeEnum):
    """Campaigns, scan codes, batches and their exports."""

    MALFORMED_CODE = "MALFORMED_CODE", "Not a code: wrong length or characters."
    INVALID_CHECK_CHARACTER = (
        "INVALID_CHECK_CHARACTER",
        "The code has a typo (its check character does not match).",
    )
    UNKNOWN_CODE = "UNKNOWN_CODE", "No such code."
    ALREADY_CLAIMED = "ALREADY_CLAIMED", "The code was already used."
    CODE_VOIDED = "CODE_VOIDED", "The code's batch was voided."
    CAMPAIGN_NOT_ACTIVE = "CAMPAIGN_NOT_ACTIVE", "The campaign is not running now."
    CAMPAIGN_ENDED = "CAMPAIGN_ENDED", "The campaign has ended."
    CAMPAIGN_LIMIT_REACHED = "CAMPAIGN_LIMIT_REACHED", "The consumer reached this campaign's limit."
    DAILY_LIMIT_REACHED = "DAILY_LIMIT_REACHED", "The consumer reached this campaign's daily limit."
    INVALID_STATUS_CHANGE = "INVALID_STATUS_CHANGE", "The campaign cannot move to that status."
    INVALID_DATES = "INVALID_DATES", "The end must be after the start."
    INVALID_LIMIT = "INVALID_LIMIT", "A limit is out of range."
    INVALID_BATCH_SIZE = "INVALID_BATCH_SIZE", "A batch holds 1 to 10,000,000 codes."
    WRONG_CAMPAIGN_KIND = "WRONG_CAMPAIGN_KIND", "The campaign is of another kind."
    CODES_UNAVAILABLE = "CODES_UNAVAILABLE", "This merchant cannot issue codes."
    BATCH_VOIDED = "BATCH_VOIDED", "The batch is void."
    INVALID_PERIOD = "INVALID_PERIOD", "The period asked for is out of range."
    INVALID_TIME_ZONE = "INVALID_TIME_ZONE", "Not a known time zone."
    BATCH_NOT_READY = "BATCH_NOT_READY", "Only a ready batch can be exported."
    INVALID_GRID = "INVALID_GRID", "The label grid is out of bounds."
    INVALID_LABEL_STOCK = "INVALID_LABEL_STOCK", "Unknown label stock (sheet or roll size)."
    INVALID_EXPORT_FORMAT = "INVALID_EXPORT_FORMAT", "Unknown export format."
    INVALID_URL_PATTERN = (
        "INVALID_URL_PATTERN",
        "The URL pattern must be an http(s) URL with {code} once.",
    )
    IMPORT_NOT_UPLOADING = "IMPORT_NOT_UPLOADING", "The import already has its file."
    IMPORT_FILE_TOO_LARGE = "IMPORT_FILE_TOO_LARGE", "The file is larger than an import takes."
    IMPORT_UNREADABLE = "IMPORT_UNREADABLE", "The file cannot be read as CSV or XLSX."
    IMPORT_EMPTY = "IMPORT_EMPTY", "The file holds no code."
    IMPORT_TOO_MANY_CODES = "IMPORT_TOO_MANY_CODES", "A file holds at most 5,000,000 codes."
    IMPORT_LINES_REFUSED = "IMPORT_LINES_REFUSED", "Lines were refused: nothing was imported."
    IMPORT_LOW_ENTROPY = "IMPORT_LOW_ENTROPY", "The codes are too guessable to import."
    INVALID_LOCATION = (
        "INVALID_LOCATION",
        "A scan's location is a WGS-84 latitude (-90 to 90) and longitude (-180 to 180), both.",
    )
    HIDDEN_CODE_REQUIRED = (
        "HIDDEN_CODE_REQUIRED",
        "This code's batch has hidden codes: the verification needs it.",
    )
    HIDDEN_CODE_WRONG = "HIDDEN_CODE_WRONG", "The hidden code does not match."
    HIDDEN_CODES_ISSUED = (
        "HIDDEN_CODES_ISSUED",
        "The batch's hidden codes were issued by an earlier export.",
    )


class QuestionnaireErrorCode(ErrorCodeEnum):
    """Questionnaires: definitions and answers."""

    INVALID_QUESTION = "INVALID_QUESTION", "A question definition is not valid (field names it)."
    REQUIRED = "REQUIRED", "This question must be answered."
    INVALID_OPTION = "INVALID_OPTION", "The chosen option does not exist."
    TOO_MANY_SELECTIONS = "TOO_MANY_SELECTIONS", "Too many options chosen."
    TOO_FEW_SELECTIONS = "TOO_FEW_SELECTIONS", "Too few options chosen."
    OUT_OF_RANGE = "OUT_OF_RANGE", "The number is out of the question's range."
    TEXT_TOO_LONG = "TEXT_TOO_LONG", "The answer is too long."
    TEXT_TOO_SHORT = "TEXT_TOO_SHORT", "The answer is too short."
    HIDDEN_QUESTION_ANSWERED = (
        "HIDDEN_QUESTION_ANSWERED",
        "An answer was given to a question whose condition is not met.",
    )
    INVALID_ANSWER = "INVALID_ANSWER", "The answer has the wrong shape for its question."
    UNKNOWN_QUESTION = "UNKNOWN_QUESTION", "No question has this id."
    INVALID_DATE = "INVALID_DATE", "Not a date (YYYY-MM-DD)."
    BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED", "Every reward of the questionnaire has been given out."
    ALREADY_RESPONDED = "ALREADY_RESPONDED", "The consumer has already answered this questionnaire."


class FollowErrorCode(ErrorCodeEnum):
    """Follow campaigns: following the merchant's official account for points."""

    MERCHANT_OPENID_REQUIRED = (
        "MERCHANT_OPENID_REQUIRED",
        "The consumer's OpenID under the merchant's app is not known yet: run "
        "merchantOpenidLinkStart first.",
    )
    ALREADY_FOLLOWED = (
        "ALREADY_FOLLOWED",
        "This consumer's follow of this campaign was already rewarded (once, ever).",
    )
    FOLLOW_BUDGET_EXHAUSTED = (
        "FOLLOW_BUDGET_EXHAUSTED",
        "Every reward of this follow campaign has been given out.",
    )
    FOLLOW_LINK_INVALID = (
        "FOLLOW_LINK_INVALID",
        "The sign-in link from the official account is forged, expired or someone else's.",
    )
    FOLLOW_NOT_FOLLOWED = (
        "FOLLOW_NOT_FOLLOWED",
        "No follow from a campaign code is known for this link.",
    )


class PrizeErrorCode(ErrorCodeEnum):
    """Prize tables, their draws and their verification."""

    INVALID_PRIZE_TABLE = (
        "INVALID_PRIZE_TABLE",
        "The prize table's tiers are not valid (the message says which rule, field names it).",
    )
    PRIZE_ABOVE_LEGAL_CEILING = (
        "PRIZE_ABOVE_LEGAL_CEILING",
        "A prize is worth more than the legal ceiling for lottery-style promotions (¥50,000).",
    )
    PRIZE_TERMS_LOCKED = (
        "PRIZE_TERMS_LOCKED",
        "The prize terms are locked: the campaign was activated or has batches.",
    )
    PRIZE_COUPONS_SHORT = (
        "PRIZE_COUPONS_SHORT",
        "A prize tier's coupon pool holds fewer coupons than the batch may give.",
    )
    INVALID_DRAW_NONCE = (
        "INVALID_DRAW_NONCE",
        "A prize code needs the page's nonce: 16 to 64 letters, digits, - or _.",
    )
