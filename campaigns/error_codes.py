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
    INVALID_EXPORT_FORMAT = "INVALID_EXPORT_FORMAT", "Unknown export format."


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
    INVALID_DRAW_NONCE = (
        "INVALID_DRAW_NONCE",
        "A prize code needs the page's nonce: 16 to 64 letters, digits, - or _.",
    )
