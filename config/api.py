"""Building blocks shared by both GraphQL schemas.

- ``ErrorCode`` / ``Error``: expected failures are payload data (``errors { field
  code message }``), as Saleor does, never exceptions.
- ``DomainMutation``: runs ``perform`` and turns a ``DomainError`` into ``errors``.
- ``domain_errors_middleware``: in queries, a ``DomainError`` becomes a GraphQL
  error whose ``extensions.code`` is the same stable code.
- ``require_consumer`` / ``require_membership``: who may do what (staff or an API key).
- ``api_key_middleware``: which root fields an API key's scopes reach.
"""

from __future__ import annotations

from typing import Any

import graphene
from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.utils.translation import gettext as _
from graphql_relay import from_global_id

from accounts.models import User
from config import unavailable
from config.errors import DomainError
from graphql import GraphQLError, OperationType
from tenants import apikeys, audit
from tenants.models import ApiKey, Domain, Membership, Merchant, Role

ERROR_CODES = [
    # Generic
    ("GRAPHQL_VALIDATION_FAILED", "The request is not a valid operation for this API."),
    ("NOT_FOUND", "The object does not exist or is not visible to you."),
    ("UNAUTHENTICATED", "Sign in first."),
    ("PERMISSION_DENIED", "Your role does not allow this."),
    ("RATE_LIMITED", "Too many attempts; retry later."),
    ("SERVICE_UNAVAILABLE", "A service we depend on is briefly unavailable."),
    ("INVALID_IDEMPOTENCY_KEY", "An idempotency key of 1 to 200 characters is required."),
    ("IDEMPOTENCY_CONFLICT", "The idempotency key was used for a different request."),
    # Sign-in and tokens
    ("INVALID_PHONE", "Not a valid mobile phone number."),
    ("OTP_INVALID", "Wrong or unknown sign-in code."),
    ("OTP_EXPIRED", "The sign-in code has expired."),
    ("OTP_TOO_MANY_ATTEMPTS", "Too many wrong codes; request a new one."),
    ("INVALID_CREDENTIALS", "Email or password is incorrect."),
    ("ACCOUNT_DISABLED", "The account is disabled."),
    ("TOKEN_INVALID", "The token is not valid."),
    ("TOKEN_EXPIRED", "The token has expired."),
    ("SESSION_REVOKED", "The session was signed out."),
    # Merchants and staff
    ("MERCHANT_REQUIRED", "Name the merchant (X-Merchant header)."),
    ("MERCHANT_NOT_FOUND", "No merchant you belong to has this slug or domain."),
    ("MERCHANT_SUSPENDED", "The merchant is suspended."),
    ("MERCHANT_NOT_ACTIVE", "The merchant is not active yet."),
    ("INVALID_SLUG", "Not a valid merchant slug."),
    ("SLUG_TAKEN", "A merchant with this slug exists."),
    ("DOMAIN_TAKEN", "This domain belongs to another merchant."),
    ("INVALID_NAME", "A name is required."),
    ("INVALID_EXPIRY", "Points expiry is out of range."),
    ("INVALID_EMAIL", "Not a valid email address."),
    ("INVALID_ROLE", "Not a valid role."),
    ("ALREADY_MEMBER", "This person is already on the staff."),
    ("LAST_OWNER", "A merchant must keep at least one owner."),
    ("INVALID_PASSWORD", "The password is too weak."),
    ("EMAIL_TAKEN", "This email already has an account (merchant sign-up)."),
    # API keys
    ("INVALID_SCOPE", "Unknown API key scope, or none given."),
    ("SCOPE_MISSING", "The API key lacks the scope this needs (the message names it)."),
    ("API_KEY_REVOKED", "The API key was revoked (HTTP 401)."),
    ("API_KEY_EXPIRED", "The API key has expired (HTTP 401)."),
    # Campaigns and scan codes
    ("MALFORMED_CODE", "Not a code: wrong length or characters."),
    ("INVALID_CHECK_CHARACTER", "The code has a typo (its check character does not match)."),
    ("UNKNOWN_CODE", "No such code."),
    ("ALREADY_CLAIMED", "The code was already used."),
    ("CODE_VOIDED", "The code's batch was voided."),
    ("CAMPAIGN_NOT_ACTIVE", "The campaign is not running now."),
    ("CAMPAIGN_ENDED", "The campaign has ended."),
    ("CAMPAIGN_LIMIT_REACHED", "The consumer reached this campaign's limit."),
    ("DAILY_LIMIT_REACHED", "The consumer reached this campaign's daily limit."),
    ("INVALID_STATUS_CHANGE", "The campaign cannot move to that status."),
    ("INVALID_DATES", "The end must be after the start."),
    ("INVALID_LIMIT", "A limit is out of range."),
    ("INVALID_BATCH_SIZE", "A batch holds 1 to 5,000,000 codes."),
    ("WRONG_CAMPAIGN_KIND", "The campaign is of another kind."),
    ("CODES_UNAVAILABLE", "This merchant cannot issue codes."),
    ("BATCH_VOIDED", "The batch is void."),
    ("INVALID_PERIOD", "The period asked for is out of range."),
    ("INVALID_TIME_ZONE", "Not a known time zone."),
    ("BATCH_NOT_READY", "Only a ready batch can be exported."),
    ("INVALID_GRID", "The label grid is out of bounds."),
    ("INVALID_EXPORT_FORMAT", "Unknown export format."),
    # Questionnaires
    ("INVALID_QUESTION", "A question definition is not valid (field names it)."),
    ("REQUIRED", "This question must be answered."),
    ("INVALID_OPTION", "The chosen option does not exist."),
    ("TOO_MANY_SELECTIONS", "Too many options chosen."),
    ("TOO_FEW_SELECTIONS", "Too few options chosen."),
    ("OUT_OF_RANGE", "The number is out of the question's range."),
    ("TEXT_TOO_LONG", "The answer is too long."),
    ("TEXT_TOO_SHORT", "The answer is too short."),
    ("HIDDEN_QUESTION_ANSWERED", "An answer was given to a question whose condition is not met."),
    ("INVALID_ANSWER", "The answer has the wrong shape for its question."),
    ("UNKNOWN_QUESTION", "No question has this id."),
    ("INVALID_DATE", "Not a date (YYYY-MM-DD)."),
    ("BUDGET_EXHAUSTED", "Every reward of the questionnaire has been given out."),
    ("ALREADY_RESPONDED", "The consumer has already answered this questionnaire."),
    # Ledger
    ("INVALID_AMOUNT", "The amount is not a positive whole number in range."),
    ("INVALID_CURRENCY", "Unsupported currency."),
    ("INVALID_RATE", "Invalid conversion rate."),
    ("INVALID_REFERENCE", "A reference is required."),
    ("INVALID_ACCOUNT", "These accounts cannot take part in this operation."),
    ("INSUFFICIENT_BUDGET", "The merchant's budget is too small."),
    ("INSUFFICIENT_POINTS", "The wallet has too few points."),
    ("INSUFFICIENT_FUNDS", "The account has too few points."),
    ("UNBALANCED", "A transaction must balance."),
    ("ALREADY_REVERSED", "The transaction was already reversed."),
    ("NOT_REVERSIBLE", "The transaction cannot be reversed."),
    # Mall
    ("INVALID_TITLE", "A product needs a title of at most 200 characters."),
    ("NOT_CONSIGNED", "Platform products are not consigned."),
    ("INVALID_QUANTITY", "The quantity is out of range."),
    ("NOT_A_COUPON_PRODUCT", "Only coupon products take coupon codes."),
    ("INVALID_COUPON", "A coupon file or code is not valid."),
    ("DUPLICATE_COUPON", "Coupon codes repeat (the message names the lines)."),
    ("NOT_AVAILABLE", "The product is not listed or not available now."),
    ("OUT_OF_STOCK", "The product is sold out."),
    ("ADDRESS_REQUIRED", "Physical goods need a delivery address."),
    ("LIMIT_REACHED", "The consumer reached the product's per-consumer limit."),
    ("NOT_CANCELLABLE", "Only orders not yet shipped can be cancelled."),
    ("TRACKING_REQUIRED", "Shipping needs the carrier and the tracking number."),
    ("INVALID_ORDER_STATUS", "The order cannot move to that status."),
    ("INVALID_ADDRESS", "An address field is missing or too long."),
    ("TOO_MANY_ADDRESSES", "The address book is full."),
    # Webhooks
    ("INVALID_URL", "The webhook URL must be https:// to a public host."),
    ("INVALID_EVENT_TYPES", "Choose at least one known event type."),
    ("TOO_MANY_ENDPOINTS", "The merchant has the most webhook endpoints allowed."),
]

ErrorCode = graphene.Enum(
    "ErrorCode",
    [(code, code) for code, _doc in ERROR_CODES],
    description="Stable machine-readable error codes. Never renamed; new ones may be added.",
)
KNOWN_CODES = {code for code, _doc in ERROR_CODES}


class Error(graphene.ObjectType):
    field = graphene.String(description="The argument at fault (camelCase), if any.")
    code = graphene.Field(ErrorCode, required=True)
    message = graphene.String(required=True, description="A human message, translated.")


def error_from(exc: DomainError) -> Error:
    if exc.code not in KNOWN_CODES:
        # A code missing from the enum is a programming error; fail loudly in tests.
        raise AssertionError(f"error code {exc.code!r} is not in config.api.ERROR_CODES")
    return Error(field=exc.field, code=exc.code, message=exc.message)


class DomainMutation(graphene.Mutation):
    """A mutation whose expected failures come back as ``errors``.

    Subclasses implement ``perform(cls, root, info, **arguments)`` and return
    ``cls(...)``; any ``DomainError`` raised becomes ``errors`` and the other
    fields stay null. Services own their transactions, so a refusal has already
    rolled back whatever it started.
    """

    class Meta:
        abstract = True

    errors = graphene.List(graphene.NonNull(Error), required=True)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> DomainMutation:
        raise NotImplementedError

    @classmethod
    def mutate(cls, root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> DomainMutation:
        # Every merchant-API mutation is audited here, in one place, whatever happens
        # (tenants.audit); an API key's scope is checked here too, so that a refusal
        # is payload data like any other.
        result = "INTERNAL_ERROR"
        try:
            try:
                key: ApiKey | None = getattr(info.context, "api_key", None)
                if key is not None:
                    apikeys.check_field(key, info.field_name)
                payload = cls.perform(root, info, **kwargs)
            except DomainError as exc:
                # Several problems at once (e.g. questions.AnswersInvalid): report them all.
                errors = [error_from(e) for e in getattr(exc, "errors", None) or [exc]]
                result = errors[0].code
                return cls(errors=errors)
            if getattr(payload, "errors", None) is None:
                payload.errors = []
            result = payload.errors[0].code if payload.errors else "ok"
            return payload
        finally:
            if getattr(info.context, "merchant_api", False):
                audit.record(info.context, info.field_name, kwargs, result)


def _paging_error(message: str, field: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "GRAPHQL_VALIDATION_FAILED", "field": field})


def _check_paging(args: dict[str, Any]) -> None:
    """Connection arguments graphene-django would refuse with a bare ``AssertionError``.

    Found by the fuzzer: ``first``/``last`` over ``GRAPHQL_MAX_PAGE_SIZE`` (whether
    literal or a variable), ``offset`` with ``before``. Negative values reached the
    slicing code. Each is now ``GRAPHQL_VALIDATION_FAILED`` naming the argument.
    """
    for name in ("first", "last"):
        value = args.get(name)
        if isinstance(value, int) and not 0 <= value <= settings.GRAPHQL_MAX_PAGE_SIZE:
            raise _paging_error(
                _("%(arg)s must be between 0 and %(max)d.")
                % {"arg": name, "max": settings.GRAPHQL_MAX_PAGE_SIZE},
                name,
            )
    offset = args.get("offset")
    if isinstance(offset, int):
        if offset < 0:
            raise _paging_error(_("offset must not be negative."), "offset")
        if args.get("before") is not None:
            raise _paging_error(_("Use either offset or before, not both."), "offset")


def domain_errors_middleware(next_: Any, root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    """Graphene middleware: every failure in a resolver becomes a coded GraphQL error.

    - a ``DomainError`` keeps its code (expected refusals of queries);
    - a lost database connection is ``SERVICE_UNAVAILABLE`` and the response 503
      (config.unavailable: retry, nothing was half-done);
    - anything else is a bug: logged with its traceback, answered as
      ``INTERNAL_SERVER_ERROR`` without the exception's text (graphql-core would
      otherwise send ``str(exc)`` to the client and log nothing).
    """
    _check_paging(args)
    try:
        return next_(root, info, **args)
    except GraphQLError:
        raise
    except DomainError as exc:
        raise GraphQLError(exc.message, extensions={"code": exc.code, "field": exc.field}) from exc
    except Exception as exc:
        if unavailable.is_unavailable(exc):
            unavailable.log_unavailable(exc, f"{info.parent_type.name}.{info.field_name}")
            info.context.service_unavailable = True
            raise GraphQLError(
                unavailable.unavailable_message(), extensions={"code": "SERVICE_UNAVAILABLE"}
            ) from exc
        unavailable.logger.error(
            "unhandled error in %s.%s", info.parent_type.name, info.field_name, exc_info=exc
        )
        raise GraphQLError(
            _("Something went wrong on our side. Please retry later."),
            extensions={"code": "INTERNAL_SERVER_ERROR"},
        ) from exc


def api_key_middleware(next_: Any, root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    """Graphene middleware: an API key reaches only the root query fields its scopes
    allow, and ``node(id)`` answers it only objects of those scopes.

    Mutations are checked in ``DomainMutation.mutate`` (their refusals are payload
    data). Nested fields are not checked: a root field the key may use decides.
    """
    key: ApiKey | None = getattr(info.context, "api_key", None)
    if (
        key is None
        or info.path.prev is not None
        or info.field_name.startswith("__")
        or info.operation.operation != OperationType.QUERY
    ):
        return next_(root, info, **args)
    try:
        apikeys.check_field(key, info.field_name)
    except DomainError as exc:
        raise GraphQLError(exc.message, extensions={"code": exc.code, "field": exc.field}) from exc
    found = next_(root, info, **args)
    if info.field_name == "node" and found is not None and not apikeys.may_see(key, found):
        return None  # as for any object the caller may not see
    return found


# --- Who is asking ----------------------------------------------------------------


def client_ip(request: HttpRequest) -> str | None:
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR")


def require_user(info: graphene.ResolveInfo) -> User:
    user = info.context.user
    if not user.is_authenticated:
        raise DomainError("UNAUTHENTICATED", _("Sign in first."))
    return user


def require_consumer(info: graphene.ResolveInfo) -> User:
    user = require_user(info)
    if not user.phone:
        raise DomainError("PERMISSION_DENIED", _("Only consumers can do this."))
    return user


def _merchant_hint(request: HttpRequest) -> tuple[str, str] | None:
    slug = request.headers.get("X-Merchant", "").strip().lower()
    if slug:
        return ("slug", slug)
    host = request.get_host().split(":")[0].lower()
    if Domain.objects.filter(domain=host).exists():
        return ("domain", host)
    return None


def require_membership(
    info: graphene.ResolveInfo, role: str = Role.VIEWER, *, approved: bool = True
) -> Membership:
    """The caller's membership at the merchant this request names, with at least ``role``.

    The merchant is named by the ``X-Merchant: <slug>`` header or the request's host
    (a merchant ``Domain``); a member of exactly one merchant may name none. A
    merchant the caller does not belong to answers exactly like an unknown one. On
    success the connection is switched to the merchant's schema for this request.

    A merchant that is only an application (pending or declined: no schema yet) is
    refused with ``MERCHANT_NOT_ACTIVE``, except by the few fields that say who and
    where (``approved=False``: the merchant's name and status, the caller's role).
    """
    request = info.context
    membership: Membership | None = getattr(request, "_membership", None)
    key: ApiKey | None = getattr(request, "api_key", None)
    if membership is None and key is not None:
        # A key fixes its merchant; naming another one answers like an unknown one.
        hint = _merchant_hint(request)
        if hint is not None and not (
            hint[1] == key.merchant.slug
            if hint[0] == "slug"
            else Domain.objects.filter(domain=hint[1], tenant_id=key.merchant_id).exists()
        ):
            raise DomainError("MERCHANT_NOT_FOUND", _("This API key belongs to another merchant."))
        membership = request._membership = apikeys.key_membership(key)
        _enter(key.merchant)
    if membership is None:
        user = require_user(info)
        memberships = Membership.objects.select_related("merchant").filter(user=user)
        hint = _merchant_hint(request)
        if hint is None:
            candidates = list(memberships[:2])
            if len(candidates) != 1:
                raise DomainError(
                    "MERCHANT_REQUIRED", _("Choose a merchant with the X-Merchant header.")
                )
            membership = candidates[0]
        else:
            lookup = "merchant__slug" if hint[0] == "slug" else "merchant__domains__domain"
            membership = memberships.filter(**{lookup: hint[1]}).first()
            if membership is None:
                raise DomainError(
                    "MERCHANT_NOT_FOUND", _("No merchant you belong to matches this request.")
                )
        request._membership = membership
        _enter(membership.merchant)
    if approved:
        membership.merchant.ensure_approved()
    if not membership.has_role(role):
        raise DomainError(
            "PERMISSION_DENIED",
            _("This needs the %(role)s role or higher.") % {"role": Role(role).label},
        )
    return membership


def _enter(merchant: Merchant) -> None:
    """Switch the connection to the merchant's schema, if it has one (an application
    has none: its fields are refused before any query could look there)."""
    if merchant.is_provisioned:
        connection.set_tenant(merchant)


# --- IDs and choices shared by the apps' schemas --------------------------------------


def choice_value(choice: Any) -> str:
    """The plain value of a choice or enum member (a row just created holds the member)."""
    return getattr(choice, "value", choice)


def decode_id(global_id: str | None, type_name: str, field: str) -> int:
    """The primary key inside a global ID of ``type_name``; otherwise ``NOT_FOUND``."""
    try:
        kind, pk = from_global_id(global_id or "")
    except Exception:  # malformed base64 or text: simply not found
        kind, pk = "", ""
    if kind != type_name or not pk.isdigit() or len(pk) > 18:
        raise DomainError("NOT_FOUND", _("No such object."), field)
    return int(pk)


class PublicNode:
    """``node(id:)`` for public-schema rows: a malformed key is not found (null), not an error."""

    @classmethod
    def get_node(cls, info: graphene.ResolveInfo, id: str) -> Any:
        if not str(id).isdigit() or len(str(id)) > 18:
            return None
        return super().get_node(info, id)  # type: ignore[misc]
