"""The console's words for its scripts: one error message per API code, and page texts.

Every console page embeds the same two mappings (``error_messages``, ``texts``), in
the page's language, so that no screen keeps its own copy of a message. A test
checks that every ``ErrorCode`` of the merchant schema has a message here.
"""

from __future__ import annotations

from django.utils.translation import gettext as _


def error_messages() -> dict[str, str]:
    """A human sentence for every code the merchant API (or the network) can answer."""
    return {
        # Sign-in, sessions, merchants, roles.
        "UNAUTHENTICATED": _("Please sign in again."),
        "PERMISSION_DENIED": _("Your role does not allow this. Ask an admin of this merchant."),
        "TOKEN_INVALID": _("Please sign in again."),
        "TOKEN_EXPIRED": _("Please sign in again."),
        "SESSION_REVOKED": _("You were signed out. Please sign in again."),
        "ACCOUNT_DISABLED": _("This account is disabled."),
        "INVALID_CREDENTIALS": _("The email or password is not right."),
        "INVALID_PASSWORD": _("Choose a longer, less common password."),
        "EMAIL_TAKEN": _(
            "This email already has an account. Use another email, or ask us to add a merchant."
        ),
        "MERCHANT_REQUIRED": _("Choose a merchant first."),
        "MERCHANT_NOT_FOUND": _("You are not a member of this merchant (any more)."),
        "MERCHANT_SUSPENDED": _("This merchant is suspended: campaigns cannot run."),
        "MERCHANT_NOT_ACTIVE": _(
            "This merchant is not approved: its application is under review or was declined."
        ),
        "INVALID_SLUG": _("Not a valid merchant address name."),
        "SLUG_TAKEN": _("That name is taken."),
        "DOMAIN_TAKEN": _("That domain is taken."),
        "INVALID_NAME": _("Enter a name of 1 to 200 characters."),
        "INVALID_EXPIRY": _("Not a valid expiry period."),
        "INVALID_EMAIL": _("Enter a valid email address."),
        "INVALID_ROLE": _("Your role cannot give or change this role."),
        "ALREADY_MEMBER": _("This person is already a member."),
        "LAST_OWNER": _("A merchant needs at least one owner."),
        "INVALID_PHONE": _("Enter a valid mobile number."),
        "OTP_INVALID": _("That code is not right."),
        "OTP_EXPIRED": _("That code has expired."),
        "OTP_TOO_MANY_ATTEMPTS": _("Too many wrong codes. Ask for a new one."),
        # Consumers' sign-in inside WeChat (the console never sends these; one enum).
        "CONSENT_REQUIRED": _("Agree to the user agreement and the privacy policy to continue."),
        "WECHAT_TICKET_INVALID": _("The WeChat sign-in did not work. Open the page again."),
        "WECHAT_TICKET_EXPIRED": _("The WeChat sign-in took too long. Open the page again."),
        "WECHAT_TICKET_USED": _("This WeChat sign-in was already used. Open the page again."),
        "WECHAT_STATE_INVALID": _("The WeChat sign-in did not start here. Start again."),
        "WECHAT_CODE_INVALID": _("WeChat did not accept this sign-in. Start again."),
        "WECHAT_UNAVAILABLE": _("WeChat cannot be reached right now. Try again later."),
        # Consumers' account merges: never answered to the console.
        **dict.fromkeys(
            (
                "PHONE_ALREADY_BOUND",
                "WECHAT_ALREADY_BOUND",
                "ACCOUNT_MERGE_REQUIRED",
                "ACCOUNTS_CANNOT_MERGE",
                "MERGE_TOKEN_INVALID",
                "MERGE_TOKEN_EXPIRED",
                "ACCOUNT_MERGED",
                "PHONE_REQUIRED",
                # A consumer's birthday (earning): only the consumer API answers them.
                "INVALID_BIRTHDAY",
                "BIRTHDAY_ALREADY_SET",
            ),
            _("This concerns a consumer's account, not the console."),
        ),
        # The earning API.
        "CONSUMER_REQUIRED": _("Name the consumer by a phone number or a consumer id, not both."),
        "CONSUMER_NOT_FOUND": _("No consumer of this merchant has this consumer id."),
        "INVALID_EXTERNAL_ID": _("Give your id for the award (1 to 100 characters)."),
        "INVALID_REASON": _("Give a reason (1 to 200 characters)."),
        "EARNING_RULE_MISSING": _("Set an earning rule before recording purchases."),
        "INVALID_EARNING_RULE": _(
            "Check the earning rule: a positive rate with 4 decimals at most, a daily cap "
            "of at least 1, bonuses of 0 to 1,000,000 points, 1 to 365 days."
        ),
        "NOTHING_EARNED": _("This purchase earns no points."),
        "DAILY_CAP_REACHED": _("This consumer reached today's cap of purchase points."),
        "AWARD_SPENT": _("The consumer already spent these points: the award cannot be reversed."),
        # API keys.
        "INVALID_SCOPE": _("Choose at least one permission for the key."),
        "SCOPE_MISSING": _("This API key does not have the permission for this."),
        "API_KEY_REVOKED": _("This API key was revoked."),
        "API_KEY_EXPIRED": _("This API key has expired."),
        # Campaigns and batches.
        "NOT_FOUND": _("Not found: it may have been removed, or belong to another merchant."),
        "INVALID_STATUS_CHANGE": _("The campaign cannot change to that status now."),
        "INVALID_DATES": _("The end must be after the start."),
        "INVALID_LIMIT": _("Enter a limit from 1 to 1,000,000."),
        "INVALID_BATCH_SIZE": _("Enter 1 to 10,000,000 codes."),
        "INVALID_AMOUNT": _("Enter a whole number of points from 1 to 1,000,000."),
        "INSUFFICIENT_BUDGET": _("The budget is too small for this. Fund it or ask for fewer."),
        "CAMPAIGN_ENDED": _("This campaign has ended: it cannot change."),
        "CAMPAIGN_NOT_ACTIVE": _("This campaign is not running."),
        "BATCH_VOIDED": _("This batch is void."),
        "BATCH_NOT_READY": _("The batch is not ready: wait until its codes are generated."),
        "WRONG_CAMPAIGN_KIND": _("This does not apply to this kind of campaign."),
        "CODES_UNAVAILABLE": _("Codes cannot be generated right now. Retry shortly."),
        "INVALID_GRID": _("Choose 1 to 6 columns and 1 to 12 rows."),
        "INVALID_LABEL_STOCK": _("Choose one of the label sizes offered."),
        "INVALID_EXPORT_FORMAT": _("Choose CSV, ZIP or PDF."),
        "HIDDEN_CODES_ISSUED": _(
            "This batch's hidden codes were issued with an earlier export and are never "
            "shown again. Export a ZIP of the QR codes, or create a new batch."
        ),
        # The logo on labels.
        "LOGO_NOT_AN_IMAGE": _("The logo must be a PNG or JPEG image."),
        "LOGO_TOO_LARGE": _("The logo must be 512 KB or smaller."),
        "LOGO_BAD_DIMENSIONS": _("The logo must be 64 to 2048 pixels wide and high."),
        # Code imports.
        "INVALID_URL_PATTERN": _(
            "Give the brand's URL with {code} where the code stands, e.g. "
            "https://brand.example/q?c={code}."
        ),
        "IMPORT_NOT_UPLOADING": _("This import already has its file: start a new import."),
        "IMPORT_FILE_TOO_LARGE": _("The file is too large: split it."),
        "IMPORT_UNREADABLE": _("The file cannot be read: send a CSV (UTF-8) or XLSX file."),
        "IMPORT_EMPTY": _("The file holds no code."),
        "IMPORT_TOO_MANY_CODES": _("A file holds at most 5,000,000 codes: split it."),
        "IMPORT_LINES_REFUSED": _(
            "Some lines were refused, so nothing was imported. Download the report, fix the "
            "file and import it again."
        ),
        "IMPORT_LOW_ENTROPY": _(
            "These codes are too easy to guess from one another (sequential or too short): "
            "nothing was imported. Import them again with hidden codes (scratch-off)."
        ),
        "INVALID_PERIOD": _("Choose a shorter period."),
        "INVALID_TIME_ZONE": _("Unknown time zone."),
        # Codes (met by consumers; shown in stats and failures).
        "MALFORMED_CODE": _("Malformed code"),
        "INVALID_CHECK_CHARACTER": _("Typo in the code"),
        "UNKNOWN_CODE": _("Unknown code"),
        "ALREADY_CLAIMED": _("Already claimed"),
        "CODE_VOIDED": _("Void code"),
        "HIDDEN_CODE_REQUIRED": _("Hidden code not given"),
        "HIDDEN_CODE_WRONG": _("Wrong hidden code"),
        "CAMPAIGN_LIMIT_REACHED": _("Campaign limit reached"),
        "DAILY_LIMIT_REACHED": _("Daily limit reached"),
        # Questionnaires.
        "INVALID_QUESTION": _("This question is not complete or not valid."),
        "REQUIRED": _("This is required."),
        "INVALID_OPTION": _("Not one of the options."),
        "TOO_MANY_SELECTIONS": _("Too many choices."),
        "TOO_FEW_SELECTIONS": _("Too few choices."),
        "OUT_OF_RANGE": _("Out of range."),
        "TEXT_TOO_LONG": _("Too long."),
        "TEXT_TOO_SHORT": _("Too short."),
        "HIDDEN_QUESTION_ANSWERED": _("This question is not shown for these answers."),
        "INVALID_ANSWER": _("Not a valid answer."),
        "UNKNOWN_QUESTION": _("Unknown question."),
        "INVALID_DATE": _("Enter a valid date."),
        "BUDGET_EXHAUSTED": _("All rewarded responses are used up."),
        "ALREADY_RESPONDED": _("Already answered."),
        # Ledger.
        "INVALID_CURRENCY": _("Not a supported currency."),
        "INVALID_RATE": _("Not a valid rate."),
        "INVALID_REFERENCE": _("Not a valid reference."),
        "INVALID_ACCOUNT": _("Not a valid account."),
        "INSUFFICIENT_POINTS": _("Not enough points."),
        "INSUFFICIENT_FUNDS": _("Not enough points in the budget."),
        "UNBALANCED": _("The ledger refused an unbalanced posting."),
        "ALREADY_REVERSED": _("Already reversed."),
        "NOT_REVERSIBLE": _("This cannot be reversed."),
        "INVALID_IDEMPOTENCY_KEY": _("Something went wrong on this page. Reload it and retry."),
        "IDEMPOTENCY_CONFLICT": _("Something went wrong on this page. Reload it and retry."),
        "INVALID_INPUT": _(
            "A value is not allowed: check its range, remove control or direction characters, "
            "or shorten it."
        ),
        # Mall.
        "INVALID_TITLE": _("Enter a title of 1 to 200 characters."),
        "NOT_CONSIGNED": _("This product is not consigned by you."),
        "INVALID_QUANTITY": _("Enter a quantity from 1 to 100."),
        "NOT_A_COUPON_PRODUCT": _("This is not a coupon product."),
        "INVALID_COUPON": _("Not a valid coupon code."),
        "DUPLICATE_COUPON": _("Duplicate coupon codes."),
        "NOT_AVAILABLE": _("Not available."),
        "OUT_OF_STOCK": _("Out of stock."),
        "ADDRESS_REQUIRED": _("An address is required."),
        "LIMIT_REACHED": _("Limit reached."),
        "NOT_CANCELLABLE": _("This order can no longer be cancelled."),
        "TRACKING_REQUIRED": _("Enter the carrier and the tracking number."),
        "INVALID_ORDER_STATUS": _("This order is not in a state that allows this."),
        "INVALID_ADDRESS": _("Not a valid address."),
        "TOO_MANY_ADDRESSES": _("Too many addresses."),
        # Webhooks.
        "INVALID_URL": _("Enter an https:// address of a public server."),
        "INVALID_EVENT_TYPES": _("Choose at least one event."),
        "TOO_MANY_ENDPOINTS": _("This merchant has the most endpoints allowed. Delete one first."),
        # WeChat official account (third-party platform).
        "OFFICIAL_ACCOUNT_PLATFORM_NOT_CONFIGURED": _(
            "The platform's WeChat third-party platform is not set up yet. Contact the platform."
        ),
        "OFFICIAL_ACCOUNT_WECHAT_UNAVAILABLE": _(
            "WeChat could not be reached or refused the request. Try again in a few minutes."
        ),
        "OFFICIAL_ACCOUNT_AUTHORIZATION_INVALID": _(
            "This authorisation has expired or was already used. Start again with the button."
        ),
        "OFFICIAL_ACCOUNT_NOT_AUTHORIZED": _(
            "No WeChat official account is authorised. Authorise one on the WeChat screen."
        ),
        "OFFICIAL_ACCOUNT_NOT_VERIFIED_SERVICE": _(
            "WeChat refused (48001): only a verified service account can do this. "
            "A subscription account or an unverified account cannot."
        ),
        "OFFICIAL_ACCOUNT_OAUTH_INVALID": _("The WeChat sign-in was not valid. Try again."),
        # Follow campaigns.
        "MERCHANT_OPENID_REQUIRED": _("The consumer must open the page inside WeChat."),
        "ALREADY_FOLLOWED": _("Already rewarded for following."),
        "FOLLOW_BUDGET_EXHAUSTED": _("All rewards of this campaign have been given out."),
        "FOLLOW_LINK_INVALID": _("This link is not valid any more. Scan the poster again."),
        "FOLLOW_NOT_FOLLOWED": _("We have not seen this follow yet."),
        # Requests and transport.
        "GRAPHQL_VALIDATION_FAILED": _("This page is out of date. Reload it."),
        "RATE_LIMITED": _("Too many attempts. Try again in %(seconds)s seconds."),
        "RATE_LIMITED_SOON": _("Too many attempts. Try again in a few minutes."),
        "SERVICE_UNAVAILABLE": _("The service is briefly unavailable. Please retry."),
        "NETWORK": _("No connection. Check your network and retry."),
        "UNEXPECTED": _("Something went wrong. Please retry."),
        # Prize tables (the consumer's draw nonce is the consumer page's).
        "INVALID_PRIZE_TABLE": _(
            "The prize table is not valid: 2 to 10 tiers with names of at most 40 "
            "characters, weights of 1 to 1,000,000, caps of 1 to 10,000,000, and “thank "
            "you” last with no points and no cap (with the first-scan guarantee, the "
            "lowest prize has no cap either)."
        ),
        "PRIZE_ABOVE_LEGAL_CEILING": _(
            "A prize may be worth at most ¥50,000 (5,000,000 points): the Anti-Unfair "
            "Competition Law forbids lottery-style promotions with a larger top prize. "
            "Split it into several prizes or lower it."
        ),
        "PRIZE_TERMS_LOCKED": _(
            "The prize terms are locked once the campaign is active or has batches."
        ),
        "PRIZE_COUPONS_SHORT": _(
            "A prize's coupon pool holds too few coupons for this batch: upload more."
        ),
        "INVALID_DRAW_NONCE": _("This draw could not be made. Reload the page."),
        # Dealers, sales regions and diversion.
        "INVALID_DEALER_NAME": _("A dealer's name is 1 to 100 characters."),
        "DEALER_NAME_TAKEN": _("Another dealer already has this name."),
        "INVALID_SALES_REGION": _("Choose provinces, cities or districts from the list."),
        "SALES_REGIONS_REQUIRED": _("Give the dealer 1 to 200 sales regions, none inside another."),
        "DEALER_IN_USE": _(
            "The dealer has goods or diversion events; remove its assignments first."
        ),
        "INVALID_SERIAL_RANGE": _(
            "The serials must lie within the batch, the first no greater than the last."
        ),
        "ASSIGNMENT_OVERLAPS": _("Some of these serials are already assigned to a dealer."),
        "DIVERSION_REFUSED": _(
            "These goods are sold in another region: their points cannot be collected here."
        ),
        "INVALID_LOCATION": _("The location is not a valid WGS-84 latitude and longitude."),
        # Consumers' personal data (PIPL): the merchant API answers them to no merchant's
        # request, but they are codes of the one ErrorCode enum (decision 0008).
        "MERCHANT_CONSENT_REQUIRED": _("The consumer has not agreed to share data with you."),
        "MERCHANT_CONSENT_NOT_GIVEN": _("The consumer no longer shares data with you."),
        "VERIFIED_PHONE_REQUIRED": _("A verified phone number is required."),
        "DELETION_ALREADY_REQUESTED": _("The account's deletion is already requested."),
        "DELETION_NOT_REQUESTED": _("The account is not being deleted."),
    }


def texts() -> dict[str, str]:
    """Words the scripts put on screens (``%(name)s`` placeholders filled by ``fmt``)."""
    return {
        "loading": _("Loading…"),
        # Code import screen.
        "import_none": _("No import yet."),
        "import_uploading": _("Uploading the file…"),
        "import_status_UPLOADING": _("Waiting for the file"),
        "import_status_VALIDATING": _("Checking the file"),
        "import_status_WRITING": _("Writing the codes"),
        "import_status_IMPORTED": _("Imported"),
        "import_status_REFUSED": _("Refused"),
        "import_status_FAILED": _("Failed"),
        "import_lines": _("%(lines)s lines checked"),
        "import_counts": _("%(accepted)s codes accepted, %(refused)s lines refused"),
        "import_bits": _("%(bits)s bits per code (at least %(min)s needed)"),
        "import_report": _("Download the refused lines (CSV)"),
        "import_done": _("Imported as a batch of %(size)s codes."),
        "import_choose_file": _("Choose a CSV or XLSX file."),
        # WeChat official account screen.
        "wechat_none": _("No official account is authorised yet."),
        "wechat_name": _("Name"),
        "wechat_principal": _("Owner (principal)"),
        "wechat_app_id": _("AppID"),
        "wechat_kind": _("Kind"),
        "wechat_kind_SERVICE": _("Service account (服务号)"),
        "wechat_kind_SUBSCRIPTION": _("Subscription account (订阅号)"),
        "wechat_verification": _("WeChat verification"),
        "wechat_verified": _("Verified"),
        "wechat_unverified": _("Not verified"),
        "wechat_authorized_at": _("Authorised on"),
        "wechat_status_AUTHORIZED": _("Authorised"),
        "wechat_status_UNAUTHORIZED": _("Authorisation cancelled"),
        "wechat_can": _(
            "A verified service account: follow campaigns with parametric QR codes and "
            "template messages are available."
        ),
        "wechat_cannot": _(
            "This account is not a verified service account: it cannot use parametric QR "
            "codes (follow campaigns) or template messages; WeChat refuses them (errcode "
            "48001). Verify it as a service account in WeChat, then authorise it again."
        ),
        "wechat_cancelled": _(
            "The authorisation was cancelled in WeChat on %(date)s: the platform can no longer "
            "act for this account. Authorise it again to resume."
        ),
        "wechat_authorized": _("%(name)s is authorised."),
        "wechat_authorize_again": _("Authorise again"),
        "wechat_authorize_other": _("Authorise again or another account"),
        "saving": _("Saving…"),
        "saved": _("Saved."),
        "none": _("Nothing yet."),
        "load_more": _("Load more"),
        "points": _("%(points)s points"),
        "signed_in_as": _("Signed in as %(email)s"),
        "application_received": _(
            "Thank you. We received the application for %(name)s and will email %(email)s "
            "once it has been reviewed."
        ),
        "application_pending_title": _("Your application is under review"),
        "application_pending": _(
            "%(name)s is waiting for the platform's approval. We will email %(email)s with "
            "the decision; the budget, campaigns and the other screens open once it is approved."
        ),
        "application_rejected_title": _("Your application was not approved"),
        "application_rejected": _(
            "The platform did not approve %(name)s. The email sent to %(email)s says why; "
            "reply to it with any questions."
        ),
        "role_VIEWER": _("Viewer"),
        "role_OPERATOR": _("Operator"),
        "role_ADMIN": _("Admin"),
        "role_OWNER": _("Owner"),
        "status_DRAFT": _("Draft"),
        "status_ACTIVE": _("Active"),
        "status_PAUSED": _("Paused"),
        "status_ENDED": _("Ended"),
        "kind_SCAN": _("Scan codes"),
        "kind_QUESTIONNAIRE": _("Questionnaire"),
        "kind_FOLLOW": _("Follow the official account"),
        # Follow campaigns.
        "follow_none": _("No follow campaign yet."),
        "follow_points": _("%(points)s points per new follower, for the first %(cap)s"),
        "follow_stats": _(
            "New followers from your codes: %(new)s · rewarded: %(credited)s · "
            "unfollowed afterwards: %(unfollowed)s"
        ),
        "follow_activate": _("Activate"),
        "follow_pause": _("Pause"),
        "follow_end": _("End"),
        "follow_poster": _("Make the poster code"),
        "follow_poster_alt": _("Poster QR code"),
        "follow_share": _("Page to share"),
        "preview_page": _("Preview the consumer page"),
        "follow_created": _("Follow campaign created: %(name)s"),
        "batch_GENERATING": _("Generating"),
        "batch_READY": _("Ready"),
        "batch_FAILED": _("Failed"),
        "batch_VOIDED": _("Void"),
        "export_PENDING": _("Waiting"),
        "export_RUNNING": _("Rendering"),
        "export_READY": _("Ready"),
        "export_FAILED": _("Failed"),
        "product_DRAFT": _("Draft"),
        "product_IN_REVIEW": _("In review"),
        "product_LISTED": _("Listed"),
        "product_DELISTED": _("Delisted"),
        "order_PLACED": _("To ship"),
        "order_SHIPPED": _("Shipped"),
        "order_DELIVERED": _("Delivered"),
        "order_COMPLETED": _("Completed"),
        "order_CANCELLED": _("Cancelled"),
        "order_REFUNDED": _("Refunded"),
        "kind_PHYSICAL": _("Physical goods"),
        "kind_COUPON": _("Coupon"),
        "txn_FUND_MONEY": _("Funded with money"),
        "txn_FUND_GOODS": _("Funded with goods"),
        "txn_TRANSFER": _("Transfer"),
        "txn_RESERVE": _("Reserved for a campaign"),
        "txn_RELEASE": _("Returned from a campaign"),
        "txn_AWARD": _("Earned by consumers"),
        "txn_REDEEM": _("Redeemed"),
        "txn_EXPIRE": _("Expired"),
        "txn_REVERSAL": _("Reversal"),
        "txn_MERCHANT_AWARD": _("Awarded by the merchant"),
        "account_MERCHANT_BUDGET": _("Budget"),
        "account_CAMPAIGN_RESERVE": _("Campaign reserve"),
        "activate": _("Activate"),
        "resume": _("Resume"),
        "pause": _("Pause"),
        "end": _("End"),
        "confirm_end": _(
            "End this campaign for good? Its unclaimed reserve returns to the budget."
        ),
        "confirm_void": _("Void this batch? Its unclaimed codes stop working."),
        "confirm_batch": _(
            "%(points)s points will be reserved from the budget for %(size)s codes. Generate them?"
        ),
        "batch_cost": _("%(points)s points will be reserved from the budget."),
        # The prize table editor (campaign screen).
        "prize_first": _("First prize"),
        "prize_thank_you": _("Thank you"),
        "prize_none": _("No prize"),
        "prize_kind": _("Prize kind"),
        "prize_kind_points": _("Points"),
        "prize_kind_coupon": _("Mall coupon"),
        "prize_coupon": _("Coupon"),
        "prize_choose_coupon": _("Choose one of your coupons"),
        "prize_points": _("Points"),
        "prize_tier": _("Tier"),
        "prize_tier_name": _("Name of tier %(n)s"),
        "prize_prize": _("Prize"),
        "prize_weight": _("Weight"),
        "prize_cap": _("Cap"),
        "prize_no_cap": _("No cap"),
        "prize_odds": _("Odds"),
        "prize_remove": _("Remove"),
        "prize_reserve": _("A batch of %(size)s codes would reserve %(points)s points."),
        "prize_reserve_coupons": _(
            "A batch of %(size)s codes would reserve %(points)s points and set aside "
            "%(coupons)s coupons."
        ),
        "prize_coupon_worth": _("%(title)s (worth %(points)s points)"),
        "prize_stats": _("Tiers and draws"),
        "prize_drawn": _("Drawn"),
        "prize_won": _("Won"),
        "prize_remaining": _("Remaining"),
        "prize_guarantee_on": _(
            "First-scan guarantee: a consumer's first scan wins at least the lowest prize."
        ),
        "prize_locked": _(
            "The prize terms were published when the campaign was activated and are locked: "
            "promotion rules forbid changing them during the promotion. Anyone can check "
            "every draw against the seed's commitment below."
        ),
        "prize_saved": _("Prize table saved."),
        "confirm_prize_clear": _(
            "Remove the prize table? The campaign then pays a fixed number of points per "
            "code, set when a batch is made."
        ),
        "prize_cleared": _("Prize table removed: the campaign pays fixed points."),
        "prize_batch": _("prize draws, %(points)s points reserved"),
        # The earning rule screen (积分规则).
        "earning_rule_missing": _(
            "No rule yet: purchases are refused until you save one. The values below are "
            "suggestions."
        ),
        "earning_example": _("A purchase of ¥%(amount)s earns %(points)s points."),
        "sku": _("SKU %(sku)s"),
        "labels_button": _("PDF labels"),
        "labels_title": _("Print labels"),
        "labels_export": _("Export PDF"),
        "label_stock": _("Label stock"),
        "stock_A4": _("A4 sheets (grid)"),
        "stock_ROLL_30X20": _("Roll, 30 × 20 mm (thermal printer)"),  # noqa: RUF001 (a times sign)
        "stock_ROLL_40X30": _("Roll, 40 × 30 mm (thermal printer)"),  # noqa: RUF001 (a times sign)
        "stock_ROLL_50X30": _("Roll, 50 × 30 mm (thermal printer)"),  # noqa: RUF001 (a times sign)
        "label_columns": _("Labels across"),
        "label_rows": _("Labels down"),
        "label_preview_alt": _("Preview of the first page of labels, with sample codes"),
        "label_logo": _("Logo beside the brand (optional: PNG or JPEG, up to 512 KB)"),
        "label_logo_alt": _("The brand's logo"),
        "label_logo_remove": _("Remove the logo"),
        "label_logo_saved": _("Logo saved: it is on every label from now on."),
        "label_logo_removed": _("Logo removed."),
        "label_preview_caption": _(
            "%(width)s × %(height)s mm a page, %(perPage)s labels a page, %(pages)s pages. "  # noqa: RUF001 (a times sign)
            "Sample codes: the PDF has the real ones."
        ),
        "confirm_remove": _("Remove %(email)s from this merchant?"),
        "confirm_refund": _("Refund this order? The consumer's points go back."),
        "void": _("Void"),
        "generating": _("Generating codes: %(done)s of %(size)s (%(percent)s%%)"),
        "generated": _("All %(size)s codes generated."),
        "generation_failed": _("Generation failed: %(reason)s"),
        "preparing": _("Preparing %(format)s… %(percent)s%%"),
        "download": _("Download %(format)s"),
        "export_failed": _("The %(format)s could not be made: %(error)s"),
        "claims": _("Claims"),
        "responses": _("Responses"),
        "earnings_chart": _("Claims and responses per day"),
        "claims_chart": _("Claims per day"),
        "no_earnings": _("No claims or responses in this period."),
        "dau": _("Active that day"),
        "wau": _("Active in 7 days"),
        "mau": _("Active in 30 days"),
        "funnel": _("Scans %(scans)s → claims %(claims)s → redemptions %(redemptions)s"),
        "rolled_to": _("Figures up to %(day)s."),
        "not_rolled": _("The figures have not been rolled up yet."),
        "rolled_at": _("Counted at %(time)s"),
        "budget_money": _("(about %(money)s)"),
        "top_up_requested": _("Requested. The operators will contact you."),
        "refresh_queued": _("Counting again: the figures update in a minute or so."),
        "codes": _("%(count)s codes"),
        "question_n": _("Question %(n)s"),
        "remove_question": _("Remove question %(n)s"),
        "move_up": _("Move question %(n)s up"),
        "move_down": _("Move question %(n)s down"),
        "qtype_single_choice": _("One choice"),
        "qtype_multiple_choice": _("Several choices"),
        "qtype_short_text": _("Short text"),
        "qtype_long_text": _("Long text"),
        "qtype_rating": _("Rating 1 to 5"),
        "qtype_nps": _("Recommendation 0 to 10 (NPS)"),
        "qtype_number": _("Number"),
        "qtype_date": _("Date"),
        "question_text": _("Question"),
        "question_type": _("Type"),
        "question_options": _("Options, one per line"),
        "question_required": _("Required"),
        "question_show_if": _("Show only if"),
        "show_always": _("Always"),
        "show_if_option": _("Question %(n)s answered %(option)s"),
        "new_questionnaire_title": _("New questionnaire"),
        "preview_empty": _("No question to show yet."),
        "preview_submit": _("Submit"),
        "add_question_first": _("Add at least one question."),
        "answered": _("%(count)s answered"),
        "mean": _("Mean %(value)s"),
        "nps_score": _("NPS %(value)s"),
        "completion": _("%(submitted)s of %(opened)s who opened it answered (%(rate)s%%)"),
        "show_answers": _("Show the answers"),
        "results_link": _("Results"),
        "edit_link": _("Questions"),
        "share_link": _("Share link"),
        "poster": _("Poster (PDF)"),
        "shipped": _("Shipped."),
        "ship": _("Ship"),
        "refund": _("Refund"),
        "carrier": _("Carrier"),
        "tracking": _("Tracking number"),
        "change_role": _("Role of %(email)s"),
        "remove": _("Remove"),
        "you": _("(you)"),
        "invited": _("Invitation sent to %(email)s."),
        "open": _("Open"),
        "no_categories": _("The mall has no categories yet."),
        "no_categories_consign": _(
            "The mall has no categories yet, so goods cannot be consigned. Ask the "
            "platform's operators to add a category, then come back."
        ),
        "col_campaign": _("Campaign"),
        "col_budget_change": _("Budget change"),
        "col_reserve_change": _("Reserve change"),
        "col_postings": _("Postings"),
        "postings_count": _("%(count)s postings"),
        "col_name": _("Name"),
        "col_status": _("Status"),
        "col_codes": _("Codes"),
        "col_claimed": _("Claimed"),
        "col_awarded": _("Points awarded"),
        "col_created": _("Created"),
        "col_responses": _("Responses"),
        "col_points_each": _("Points each"),
        "col_earnings": _("Claims and responses"),
        "col_product": _("Product"),
        "col_points": _("Points"),
        "col_consumer": _("Consumer"),
        "col_address": _("Address"),
        "col_placed": _("Placed at"),
        "col_actions": _("Actions"),
        "col_kind": _("Kind"),
        "col_category": _("Category"),
        "col_price": _("Price"),
        "col_stock": _("Stock"),
        "col_units": _("Units"),
        "col_date": _("Date"),
        "col_account": _("Account"),
        "col_amount": _("Points"),
        "col_memo": _("Memo"),
        "col_email": _("Email"),
        "col_role": _("Role"),
        "col_since": _("Member since"),
        # Secrets shown once (API keys, webhook signing secrets).
        "secret_once": _("Copy it now and keep it safe: you will not see it again."),
        "secret_label": _("Secret"),
        "copy": _("Copy"),
        "copied": _("Copied."),
        "copy_yourself": _("Selected: copy it with your keyboard or menu."),
        "secret_done": _("I have stored it"),
        "confirm_secret_done": _("Hide it for good? It cannot be shown again."),
        # API keys.
        "api_keys": _("API keys"),
        "no_keys": _("No API keys yet."),
        "permissions": _("Permissions (a write permission includes reading)"),
        "key_created": _("API key “%(name)s” created"),
        "key_usage": _(
            "Send it in the header Authorization: Bearer <key> with requests to %(endpoint)s"
        ),
        "key_active": _("Active"),
        "key_expired": _("Expired"),
        "key_revoked_on": _("Revoked %(date)s"),
        "key_revoked": _("API key “%(name)s” revoked: it is refused from now on."),
        "revoke": _("Revoke"),
        "revoke_key": _("Revoke the key %(name)s"),
        "confirm_revoke": _(
            "Revoke the key “%(name)s” (%(prefix)s)? Every request with it is refused "
            "from now on. This cannot be undone."
        ),
        "never": _("Never"),
        "col_key": _("Key"),
        "col_scopes": _("Permissions"),
        "col_last_used": _("Last used"),
        "col_expires": _("Expires"),
        # Webhooks.
        "event_CODE_CLAIMED": _("A code was claimed"),
        "event_QUESTIONNAIRE_ANSWERED": _("A questionnaire was answered"),
        "event_ORDER_PLACED": _("An order for your goods was placed"),
        "event_ORDER_SHIPPED": _("An order for your goods was shipped"),
        "event_BATCH_READY": _("A code batch is ready"),
        "event_FOLLOW_CREDITED": _("A new follower of your official account was rewarded"),
        "event_DIVERSION_SUSPECTED": _("Goods were scanned outside their dealer's regions"),
        # Points the merchant's own systems awarded through the earning API (earning/).
        "event_POINTS_AWARDED": _("Points were awarded for a purchase or a bonus"),
        "event_POINTS_AWARD_REVERSED": _("An award of points was reversed"),
        "events": _("Events to send"),
        "url": _("URL"),
        "description_optional": _("Description (optional)"),
        "endpoint_active_label": _("Active: send events to it"),
        "endpoint_active": _("Active"),
        "endpoint_paused": _("Paused: events wait"),
        "endpoint_meta": _("Secret %(hint)s · added %(date)s"),
        "endpoint_created": _("Endpoint %(url)s added: its signing secret"),
        "secret_rotated": _("New signing secret for %(url)s"),
        "secret_usage": _(
            "Check the X-Loyalty-Signature header of every delivery with it "
            "(see the webhooks guide). The old secret no longer signs."
        ),
        "endpoint_deleted": _("Endpoint %(url)s deleted: nothing more is sent to it."),
        "endpoint_deleted_short": _("Endpoint deleted"),
        "no_endpoints": _("No endpoints yet."),
        "all_endpoints": _("All endpoints"),
        "show_deliveries": _("Deliveries"),
        "edit": _("Edit"),
        "save": _("Save"),
        "cancel": _("Cancel"),
        "delete": _("Delete"),
        "rotate_secret": _("New secret"),
        "confirm_rotate": _(
            "Make a new signing secret for %(url)s? The current one stops signing at once: "
            "update your server right after."
        ),
        "confirm_delete_endpoint": _(
            "Delete the endpoint %(url)s? Nothing more is sent to it; its deliveries stay listed."
        ),
        "deliveries": _("Deliveries"),
        "no_deliveries": _("No deliveries yet."),
        "delivery_PENDING": _("Sending"),
        "delivery_SUCCEEDED": _("Delivered"),
        "delivery_FAILED": _("Failed, will retry"),
        "delivery_DEAD": _("Gave up"),
        "show_payload": _("Show payload"),
        "hide_payload": _("Hide payload"),
        "payload_of": _("The body sent for event %(id)s:"),
        "payload_hidden": _("Operators and above see the payload"),
        "redeliver": _("Redeliver"),
        "redeliver_event": _("Redeliver %(type)s %(id)s"),
        "redelivering": _("Sending again…"),
        "col_event": _("Event"),
        "col_endpoint": _("Endpoint"),
        "col_attempts": _("Attempts"),
        "col_next_attempt": _("Next attempt"),
        "col_last_answer": _("Last answer"),
        # Audit log.
        "audit_log": _("Audit log"),
        "no_events": _("Nothing recorded yet."),
        "actor_api_key": _("API key"),
        "actor_anonymous": _("Not signed in"),
        "outcome_ok": _("Done"),
        "outcome_refused": _("Not done: %(code)s"),
        "details": _("Details"),
        "user_agent": _("Browser or client: %(agent)s"),
        "col_when": _("When"),
        "col_who": _("Who"),
        "col_operation": _("Operation"),
        "col_target": _("On"),
        "col_outcome": _("Outcome"),
        "col_ip": _("IP address"),
        "col_details": _("Arguments"),
        # Suspicious codes and scan history (防伪).
        "suspicious_codes": _("Suspicious codes"),
        "scans_per_day": _("Scans per day"),
        "no_scans_yet": _("No scans in these days."),
        "col_day": _("Day"),
        "col_crawlers": _("Crawlers and link previews"),
        "col_claims": _("Claims"),
        "no_suspicious_codes": _("No code looks copied so far."),
        "suspicion_MANY_LOOKUPS": _("Looked up many times"),
        "suspicion_FAR_APART": _("Scanned far apart within an hour"),
        "far_apart_km": _("%(km)s km apart"),
        "col_code": _("Code"),
        "col_reason": _("Why"),
        "col_flagged": _("Flagged"),
        "col_lookups": _("Lookups"),
        "col_scans": _("Scans"),
        "col_first_scan": _("First scan"),
        "col_last_place": _("Last place"),
        "col_source": _("What"),
        "col_result": _("Result"),
        "col_place": _("Place"),
        "col_device": _("Device"),
        "col_counted": _("Counted"),
        "show_history": _("Scan history"),
        "history_of": _("Scans of %(code)s"),
        "history_product": _("Product: %(product)s"),
        "no_scans": _("This code has not been scanned yet."),
        "approximate": _("approximate"),
        "signed_in": _("signed in"),
        "yes": _("Yes"),
        "no": _("No"),
        "source_PAGE": _("Page opened"),
        "source_PREVIEW": _("Looked up"),
        "source_CLAIM": _("Claim"),
        "source_VERIFY": _("Authenticity check"),
        "agent_WECHAT": _("WeChat"),
        "agent_ALIPAY": _("Alipay"),
        "agent_BROWSER": _("Browser"),
        "agent_CRAWLER": _("Crawler or link preview"),
        # Dealers, sales regions and diversion (经销商, 防窜货).
        "dealers": _("Dealers"),
        "no_dealers": _("No dealer yet."),
        "add_dealer": _("Add a dealer"),
        "edit_dealer": _("Edit %(name)s"),
        "confirm_delete_dealer": _("Delete the dealer %(name)s?"),
        "region_province": _("Province"),
        "region_whole_province": _("Whole province"),
        "region_whole_city": _("Whole city"),
        "remove_region": _("Remove %(name)s"),
        "col_regions": _("Sales regions"),
        "col_dealer": _("Dealer"),
        "col_batch": _("Code batch"),
        "col_serials": _("Serials"),
        "assignments": _("Goods assigned to dealers"),
        "no_assignments": _("No goods assigned yet."),
        "unassign": _("Unassign"),
        "batch_of": _("%(size)s codes"),
        "suspected_diversion": _("Suspected diversion"),
        "no_diversion": _("No diversion in these days."),
        "col_region": _("Region"),
        "col_diversions": _("Diverted codes"),
        "col_precise": _("Located precisely"),
        "col_refused": _("Claims refused"),
        "col_consumers": _("Unique consumers"),
        "col_diversion_share": _("Diversion share"),
        "scans_by_region": _("Scans by region and dealer"),
        "diverted_codes": _("Diverted codes"),
    }
