"""The one mapping from the consumer API's error codes to human messages.

Every consumer page embeds this mapping (``page-messages``) in its own language, so
the scripts never show a bare code and never depend on the language the API answered
in. ``tests`` check that every code of ``api.errors.ERROR_CODES`` is either here or in
``NOT_FOR_CONSUMERS`` (codes only the merchant API or back-office services return),
so a new code forces a decision.

``RATE_LIMITED`` takes the seconds to wait from the API's message (``api.js``);
``NETWORK`` and ``UNEXPECTED`` are the client's own codes.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

# Codes the consumer API never returns: staff, merchant set-up, ledger internals.
NOT_FOR_CONSUMERS = frozenset(
    {
        "INVALID_CREDENTIALS",
        # Label stock is chosen in the console only.
        "INVALID_LABEL_STOCK",
        "MERCHANT_REQUIRED",
        # Only the console authorises official accounts or uses their service APIs.
        "OFFICIAL_ACCOUNT_AUTHORIZATION_INVALID",
        "OFFICIAL_ACCOUNT_NOT_VERIFIED_SERVICE",
        "MERCHANT_NOT_FOUND",
        "INVALID_SLUG",
        "SLUG_TAKEN",
        "DOMAIN_TAKEN",
        "INVALID_NAME",
        "INVALID_EXPIRY",
        "INVALID_EMAIL",
        "INVALID_ROLE",
        "ALREADY_MEMBER",
        "LAST_OWNER",
        "INVALID_PASSWORD",
        "EMAIL_TAKEN",
        # The logo on labels is set in the console.
        "LOGO_NOT_AN_IMAGE",
        "LOGO_TOO_LARGE",
        "LOGO_BAD_DIMENSIONS",
        # API keys authenticate only the merchant API.
        "INVALID_SCOPE",
        "SCOPE_MISSING",
        "API_KEY_REVOKED",
        "API_KEY_EXPIRED",
        "INVALID_STATUS_CHANGE",
        "INVALID_DATES",
        "INVALID_LIMIT",
        "INVALID_BATCH_SIZE",
        "WRONG_CAMPAIGN_KIND",
        "BATCH_NOT_READY",
        "INVALID_GRID",
        "INVALID_EXPORT_FORMAT",
        # Code imports are the merchant's.
        "INVALID_URL_PATTERN",
        "IMPORT_NOT_UPLOADING",
        "IMPORT_FILE_TOO_LARGE",
        "IMPORT_UNREADABLE",
        "IMPORT_EMPTY",
        "IMPORT_TOO_MANY_CODES",
        "IMPORT_LINES_REFUSED",
        "IMPORT_LOW_ENTROPY",
        "HIDDEN_CODES_ISSUED",
        "INVALID_PERIOD",
        "INVALID_TIME_ZONE",
        "INVALID_QUESTION",
        "INVALID_AMOUNT",
        "INVALID_CURRENCY",
        "INVALID_RATE",
        "INVALID_REFERENCE",
        "INVALID_ACCOUNT",
        "INSUFFICIENT_BUDGET",
        "UNBALANCED",
        "ALREADY_REVERSED",
        "NOT_REVERSIBLE",
        "INVALID_TITLE",
        "NOT_CONSIGNED",
        "NOT_A_COUPON_PRODUCT",
        "INVALID_COUPON",
        "DUPLICATE_COUPON",
        "TRACKING_REQUIRED",
        "INVALID_URL",
        "INVALID_EVENT_TYPES",
        "TOO_MANY_ENDPOINTS",
        # Prize tables are defined in the merchant API.
        "INVALID_PRIZE_TABLE",
        "PRIZE_ABOVE_LEGAL_CEILING",
        "PRIZE_TERMS_LOCKED",
        "PRIZE_COUPONS_SHORT",
        # The merchant earning API (earning/): merchants' servers, never consumers.
        "CONSUMER_REQUIRED",
        "CONSUMER_NOT_FOUND",
        "INVALID_EXTERNAL_ID",
        "INVALID_REASON",
        "EARNING_RULE_MISSING",
        "INVALID_EARNING_RULE",
        "NOTHING_EARNED",
        "DAILY_CAP_REACHED",
        "AWARD_SPENT",
        # Dealers and their sales regions are the merchant's (dealers/).
        "INVALID_DEALER_NAME",
        "DEALER_NAME_TAKEN",
        "INVALID_SALES_REGION",
        "SALES_REGIONS_REQUIRED",
        "DEALER_IN_USE",
        "INVALID_SERIAL_RANGE",
        "ASSIGNMENT_OVERLAPS",
    }
)


def error_messages() -> dict[str, str]:
    """A human message for every code a consumer page can meet, in the active language."""
    again = _("Something went wrong on this page. Reload it and retry.")
    sign_in_again = _("Please sign in again.")
    return {
        # The client's own and generic codes
        "NETWORK": _("No connection. Check your network and retry."),
        "UNEXPECTED": _("Something went wrong. Please retry."),
        "SERVICE_UNAVAILABLE": _("The service is briefly unavailable. Please retry."),
        "GRAPHQL_VALIDATION_FAILED": again,
        "NOT_FOUND": _("We could not find this. It may have been removed."),
        "RATE_LIMITED": _("Too many attempts. Try again in %(seconds)s seconds."),
        "RATE_LIMITED_SOON": _("Too many attempts. Try again in a few minutes."),
        "INVALID_IDEMPOTENCY_KEY": again,
        "IDEMPOTENCY_CONFLICT": again,
        "INVALID_INPUT": _(
            "Something you entered cannot be used: remove special characters or shorten it."
        ),
        # Signing in
        "UNAUTHENTICATED": sign_in_again,
        "PERMISSION_DENIED": _("Sign in with a phone number to continue."),
        "TOKEN_INVALID": sign_in_again,
        "TOKEN_EXPIRED": sign_in_again,
        "SESSION_REVOKED": _("You were signed out. Please sign in again."),
        "ACCOUNT_DISABLED": _("This account is disabled."),
        "INVALID_PHONE": _("Enter a valid mobile number."),
        "OTP_INVALID": _("That code is not right. Check the text message and try again."),
        "OTP_EXPIRED": _("That code has expired. Ask for a new one."),
        "OTP_TOO_MANY_ATTEMPTS": _("Too many wrong codes. Ask for a new one."),
        # Signing in inside WeChat
        "CONSENT_REQUIRED": _("Agree to the user agreement and the privacy policy to continue."),
        "WECHAT_TICKET_INVALID": _("The WeChat sign-in did not work. Open the page again."),
        "WECHAT_TICKET_EXPIRED": _("The WeChat sign-in took too long. Open the page again."),
        "WECHAT_TICKET_USED": _("This WeChat sign-in was already used. Open the page again."),
        "WECHAT_STATE_INVALID": _(
            "This sign-in did not start on this page, or took too long. Start again."
        ),
        "WECHAT_CODE_INVALID": _(
            "WeChat did not accept this sign-in (used or expired). Start again."
        ),
        "WECHAT_UNAVAILABLE": _(
            "WeChat cannot be reached right now. Sign in with your phone number, or try later."
        ),
        # One account for a phone and a WeChat user
        "PHONE_ALREADY_BOUND": _("Your account already has a phone number."),
        "WECHAT_ALREADY_BOUND": _("Your account is already bound to another WeChat user."),
        "ACCOUNT_MERGE_REQUIRED": _("This belongs to another account with points or orders."),
        "ACCOUNTS_CANNOT_MERGE": _(
            "These accounts cannot be merged: they have different phones or WeChat users."
        ),
        "MERGE_TOKEN_INVALID": _("This merge is no longer possible. Please bind again."),
        "MERGE_TOKEN_EXPIRED": _("The merge took too long. Please bind again."),
        "ACCOUNT_MERGED": _("This account was merged into another. Please sign in again."),
        # Scanning a code
        "MALFORMED_CODE": _("This is not a valid code. Check it and try again."),
        "HIDDEN_CODE_REQUIRED": _(
            "Scratch off the coating on the label and enter the hidden code."
        ),
        "HIDDEN_CODE_WRONG": _(
            "The hidden code does not match. Check the digits under the coating."
        ),
        "INVALID_CHECK_CHARACTER": _("This code has a typo. Check each character and try again."),
        "UNKNOWN_CODE": _("We do not know this code. Check it and try again."),
        "ALREADY_CLAIMED": _("This code has already been used."),
        "CODE_VOIDED": _("This code is no longer valid."),
        "BATCH_VOIDED": _("This code is no longer valid."),
        "CODES_UNAVAILABLE": _("This merchant cannot award points at the moment."),
        "CAMPAIGN_NOT_ACTIVE": _("This campaign is not running right now."),
        "CAMPAIGN_ENDED": _("This campaign has ended."),
        "MERCHANT_SUSPENDED": _("This merchant cannot award points at the moment."),
        "MERCHANT_NOT_ACTIVE": _("This merchant cannot award points yet."),
        "CAMPAIGN_LIMIT_REACHED": _("You have collected all the points this campaign offers you."),
        "DAILY_LIMIT_REACHED": _("You have reached today's limit for this campaign."),
        "INVALID_DRAW_NONCE": _("This code is a prize draw: reload the page and scan again."),
        "DIVERSION_REFUSED": _(
            "These goods are sold in another region: their points cannot be collected here."
        ),
        "INVALID_LOCATION": _("Your location could not be read. Collect without it."),
        # Questionnaires
        "BUDGET_EXHAUSTED": _("All rewards of this questionnaire have been given out."),
        "ALREADY_RESPONDED": _("You have already answered this questionnaire."),
        "REQUIRED": _("Please answer this question."),
        "INVALID_OPTION": _("Choose one of the options."),
        "TOO_MANY_SELECTIONS": _("Too many options chosen."),
        "TOO_FEW_SELECTIONS": _("Choose more options."),
        "OUT_OF_RANGE": _("This number is out of range."),
        "TEXT_TOO_LONG": _("This answer is too long."),
        "TEXT_TOO_SHORT": _("This answer is too short."),
        "INVALID_ANSWER": _("Check this answer."),
        "INVALID_DATE": _("Give a valid date."),
        "HIDDEN_QUESTION_ANSWERED": _("This question does not apply."),
        "UNKNOWN_QUESTION": _("Reload the page: the questions have changed."),
        # The mall
        "INSUFFICIENT_POINTS": _("You do not have enough points for this."),
        "INSUFFICIENT_FUNDS": _("You do not have enough points for this."),
        "NOT_AVAILABLE": _("This product is not available right now."),
        "OUT_OF_STOCK": _("This product is sold out."),
        "LIMIT_REACHED": _("You have redeemed as many of this product as one person may."),
        "ADDRESS_REQUIRED": _("Choose a delivery address."),
        "PHONE_REQUIRED": _("Bind your phone number first: goods are delivered to a phone."),
        "INVALID_BIRTHDAY": _("Enter your real birthday: a past date."),
        "BIRTHDAY_ALREADY_SET": _("Your birthday is set already. Contact support to correct it."),
        "INVALID_QUANTITY": _("Choose a quantity from 1 to 100."),
        "NOT_CANCELLABLE": _("This order can no longer be cancelled: it has shipped."),
        "INVALID_ORDER_STATUS": _("This order can no longer be changed."),
        "INVALID_ADDRESS": _("Fill in this field (it may not be too long)."),
        "TOO_MANY_ADDRESSES": _("Your address book is full (50 addresses). Delete one first."),
        # WeChat: the consumer's OpenID under a merchant's official account
        "OFFICIAL_ACCOUNT_OAUTH_INVALID": _(
            "This WeChat link has expired or was already used. Go back and try again."
        ),
        "OFFICIAL_ACCOUNT_NOT_AUTHORIZED": _("This merchant has not connected WeChat yet."),
        "OFFICIAL_ACCOUNT_PLATFORM_NOT_CONFIGURED": _("WeChat is not available here yet."),
        "OFFICIAL_ACCOUNT_WECHAT_UNAVAILABLE": _(
            "WeChat could not be reached. Try again in a few minutes."
        ),
        # Personal data (PIPL)
        "MERCHANT_CONSENT_REQUIRED": _(
            "Taking part shares your masked phone number and your activity with this "
            "merchant. Tap the button again to agree."
        ),
        "MERCHANT_CONSENT_NOT_GIVEN": _("You no longer share your data with this merchant."),
        "VERIFIED_PHONE_REQUIRED": _("Bind your phone number first: the code is sent to it."),
        "DELETION_ALREADY_REQUESTED": _("Your account's deletion is already requested."),
        "DELETION_NOT_REQUESTED": _("Your account is not being deleted."),
        # Follow campaigns
        "MERCHANT_OPENID_REQUIRED": _("Open this page inside WeChat to follow."),
        "ALREADY_FOLLOWED": _("You have already earned this campaign's points for following."),
        "FOLLOW_BUDGET_EXHAUSTED": _("All rewards of this campaign have been given out."),
        "FOLLOW_LINK_INVALID": _("This link is not valid any more. Scan the poster again."),
        "FOLLOW_NOT_FOLLOWED": _("We have not seen this follow yet."),
    }
