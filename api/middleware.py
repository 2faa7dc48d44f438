"""The graphene middleware of both schemas: coded errors, connection limits, API-key scopes."""

from __future__ import annotations

from functools import partial
from typing import Any

import graphene
from django.conf import settings
from django.utils.translation import gettext as _

from api.inputs import clean_arguments, type_refusal_codes
from core import unavailable
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from graphql import GraphQLError, OperationType
from tenants import apikeys
from tenants.models import ApiKey


def _paging_error(message: str, field: str) -> GraphQLError:
    return GraphQLError(
        message, extensions={"code": CoreErrorCode.GRAPHQL_VALIDATION_FAILED, "field": field}
    )


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


def _is_mutation(info: graphene.ResolveInfo) -> bool:
    return info.path.prev is None and info.operation.operation == OperationType.MUTATION


def field_middleware(next_: Any, root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    """The one graphene middleware of both schemas, run on every field of every answer.

    It is ``domain_errors_middleware`` around ``api_key_middleware``, in one function:
    graphql-core calls each middleware of the list as one more frame for each field (a
    claim's answer has 9), and the key check and the paging check have nothing to do on
    a nested field without arguments, which most fields are. Such a field only keeps its
    errors coded (``_coded``); any other field takes the whole path.
    """
    if args or info.path.prev is None:
        return domain_errors_middleware(partial(api_key_middleware, next_), root, info, **args)
    try:
        return next_(root, info)
    except GraphQLError:
        raise
    except Exception as exc:
        raise _coded(exc, info) from exc


def _coded(exc: Exception, info: graphene.ResolveInfo) -> GraphQLError:
    """The coded GraphQL error for an exception a resolver raised (not a GraphQLError)."""
    if isinstance(exc, DomainError):
        return GraphQLError(exc.message, extensions={"code": exc.code, "field": exc.field})
    if unavailable.is_unavailable(exc):
        unavailable.log_unavailable(exc, f"{info.parent_type.name}.{info.field_name}")
        info.context.service_unavailable = True
        return GraphQLError(
            unavailable.unavailable_message(),
            extensions={"code": CoreErrorCode.SERVICE_UNAVAILABLE},
        )
    unavailable.logger.error(
        "unhandled error in %s.%s", info.parent_type.name, info.field_name, exc_info=exc
    )
    return GraphQLError(
        _("Something went wrong on our side. Please retry later."),
        extensions={"code": "INTERNAL_SERVER_ERROR"},
    )


def domain_errors_middleware(next_: Any, root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    """Graphene middleware: every failure in a resolver becomes a coded GraphQL error.

    - a ``DomainError`` keeps its code (expected refusals of queries);
    - a lost database connection is ``SERVICE_UNAVAILABLE`` and the response 503
      (core.unavailable: retry, nothing was half-done);
    - anything else is a bug: logged with its traceback, answered as
      ``INTERNAL_SERVER_ERROR`` without the exception's text (graphql-core would
      otherwise send ``str(exc)`` to the client and log nothing).
    """
    _check_paging(args)
    try:
        # Every argument against the rule its description states (api.inputs); a
        # mutation does it in DomainMutation.mutate, to answer payload errors. The
        # introspection fields (__type) are not in the type's fields.
        field = info.parent_type.fields.get(info.field_name) if args else None
        if field is not None and not _is_mutation(info):
            args = clean_arguments(
                field,
                args,
                type_refusal_codes(
                    getattr(info.parent_type, "graphene_type", None), info.field_name
                ),
            )
        return next_(root, info, **args)
    except GraphQLError:
        raise
    except Exception as exc:
        raise _coded(exc, info) from exc


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
