"""The GraphQL HTTP view shared by both APIs: limits, bearer-only auth, validation cache."""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from threading import Lock
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    JsonResponse,
)
from graphene.validation import DisableIntrospection
from graphene_django.views import GraphQLView, HttpError
from graphql.execution import ExecutionContext, MiddlewareManager
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.pyutils import is_awaitable as default_is_awaitable
from graphql.validation import ASTValidationRule, ValidationRule, specified_rules

from accounts import tokens
from accounts.errors import AuthError
from accounts.middleware import unauthorized
from api.middleware import field_middleware
from core import unavailable
from core.db import connection
from core.error_codes import CoreErrorCode
from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)

Cached = tuple[DocumentNode | None, list[GraphQLError]]
HTTP_ERROR_CODES = {400: "BAD_REQUEST", 405: "METHOD_NOT_ALLOWED"}


def _error(message: str, code: str, status: int) -> JsonResponse:
    return JsonResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status=status
    )


def _has_nul(value: Any) -> bool:
    """Whether a JSON value (the variables) holds U+0000 in any string or key."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    """Give a parse or validation error a stable ``extensions.code`` like every other error."""
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code}
    return error


Measure = tuple[int, int, int]  # cost, aliases, depth


class OperationLimitsRule(ValidationRule):
    """Refuse operations that are too deep, too costly or use too many aliases.

    Depth: how many fields are nested; introspection fields (``__schema``, …) are not
    counted, as graphene's ``depth_limit_validator`` does not count them, so that
    tools can introspect (the cost limit still bounds them). Cost: one per field,
    and a connection's children count once per item asked for (``first``/``last``,
    never below 0; a variable counts as the largest page). Aliases: all of them.

    Computed from the document alone, so the verdict can be cached with it. Each
    fragment is measured once per document: fragments that spread other fragments
    several times would otherwise take exponential time to check (graphene's depth
    validator does, and crashes on unknown or cyclic fragments, which the standard
    rules report here instead).
    """

    max_depth = 10
    max_cost = 5000
    max_aliases = 30
    page = 100

    def enter_document(self, node: DocumentNode, *_args: Any) -> None:
        self.fragments = {
            d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.measured: dict[str, Measure] = {}
        self.measuring: set[str] = set()
        aliases = 0
        for definition in node.definitions:
            if isinstance(definition, OperationDefinitionNode):
                cost, aliases_here, depth = self._measure(definition.selection_set)
                aliases += aliases_here
                name = definition.name.value if definition.name else "anonymous"
                if depth > self.max_depth:
                    self.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {self.max_depth}.",
                            definition,
                            extensions={"code": CoreErrorCode.GRAPHQL_VALIDATION_FAILED},
                        )
                    )
                if cost > self.max_cost:
                    self.report_error(
                        GraphQLError(
                            f"Query cost {cost} exceeds the limit of {self.max_cost}.",
                            definition,
                            extensions={"code": CoreErrorCode.GRAPHQL_VALIDATION_FAILED},
                        )
                    )
        if aliases > self.max_aliases:
            self.report_error(
                GraphQLError(
                    f"{aliases} aliases exceed the limit of {self.max_aliases}.",
                    extensions={"code": CoreErrorCode.GRAPHQL_VALIDATION_FAILED},
                )
            )

    def _measure(self, selection_set: SelectionSetNode | None) -> Measure:
        if selection_set is None:
            return 0, 0, 0
        cost = aliases = depth = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                aliases += selection.alias is not None
                multiplier = 1
                for argument in selection.arguments or ():
                    if argument.name.value in ("first", "last"):
                        value = argument.value
                        multiplier = (
                            max(0, min(int(value.value), self.page))
                            if isinstance(value, IntValueNode)
                            else self.page
                        )
                child_cost, child_aliases, child_depth = self._measure(selection.selection_set)
                cost += 1 + multiplier * child_cost
                aliases += child_aliases
                if selection.selection_set and not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + child_depth)
            else:
                if isinstance(selection, InlineFragmentNode):
                    measured = self._measure(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    measured = self._fragment(selection.name.value)
                else:  # pragma: no cover - no other kinds of selection exist
                    continue
                cost, aliases = cost + measured[0], aliases + measured[1]
                depth = max(depth, measured[2])
        return cost, aliases, depth

    def _fragment(self, name: str) -> Measure:
        measured = self.measured.get(name)
        if measured is None:
            fragment = self.fragments.get(name)
            if fragment is None or name in self.measuring:
                return 0, 0, 0  # unknown or cyclic: the standard rules report it
            self.measuring.add(name)
            measured = self.measured[name] = self._measure(fragment.selection_set)
            self.measuring.discard(name)
        return measured


def validation_rules() -> list[type[ASTValidationRule]]:
    return list(
        _validation_rules(
            settings.GRAPHQL_MAX_DEPTH,
            settings.GRAPHQL_MAX_COST,
            settings.GRAPHQL_MAX_ALIASES,
            settings.GRAPHQL_MAX_PAGE_SIZE,
            settings.GRAPHQL_INTROSPECTION,
        )
    )


@lru_cache(maxsize=8)
def _validation_rules(
    max_depth: int, max_cost: int, max_aliases: int, page: int, introspection: bool
) -> tuple[type[ASTValidationRule], ...]:
    """The standard rules and the platform's limits, as the same classes for the same
    limits (they are part of the cache key).

    ``validate`` runs only the rules it is given: without ``specified_rules`` here an
    unknown field, a missing argument or a fragment on the wrong type would pass.
    """
    limits_rule = type(
        "ConfiguredOperationLimitsRule",
        (OperationLimitsRule,),
        {"max_depth": max_depth, "max_cost": max_cost, "max_aliases": max_aliases, "page": page},
    )
    rules: list[type[ASTValidationRule]] = [*specified_rules, limits_rule]
    if not introspection:
        rules.append(DisableIntrospection)
    return tuple(rules)


# The types of values a resolver or a completion returns that can never be awaited:
# exact types (a subclass could define ``__await__``), checked before graphql-core's
# general test.
_NEVER_AWAITABLE = frozenset({str, int, float, bool, type(None), dict, list})


def _is_awaitable(value: Any) -> bool:
    return type(value) not in _NEVER_AWAITABLE and default_is_awaitable(value)


class LeanExecutionContext(ExecutionContext):
    """graphql-core's execution, with ``is_awaitable`` answering "no" for plain values
    at once: graphql-core asks it of every field's result and of every completion (29
    times for a claim's answer), and no resolver here is async."""

    is_awaitable = staticmethod(_is_awaitable)


class CodedExecutionContext(LeanExecutionContext):
    """graphql-core's execution, with its variable coercion errors coded ``INVALID_INPUT``.

    graphql-core answers a variable it cannot coerce (a string for an Int, an Int above
    2^31, a bad DateTime or JSONString, a missing required one) with an uncoded error.
    Coding them here, where graphql-core coerces, instead of coercing once more in the
    view beforehand, spares every request a second coercion. ``build`` returns errors
    before coercing only when the document has no such operation; the view uses this
    class only once it has found the operation, so the errors coded here are coercion
    errors.
    """

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> list[GraphQLError] | ExecutionContext:
        built = super().build(*args, **kwargs)
        if isinstance(built, list):
            return [_with_code(e, CoreErrorCode.INVALID_INPUT) for e in built]
        return built


class _MiddlewareManagers(dict[tuple[Any, ...], MiddlewareManager]):
    """One ``MiddlewareManager`` per middleware list, kept for the process.

    graphql-core wraps each field's resolver in the middlewares once per manager and
    caches the wrapped resolver in it; a list of middlewares makes ``execute`` build a
    new manager per request, so that work was redone for every field of every request.
    """

    def __missing__(self, key: tuple[Any, ...]) -> MiddlewareManager:
        manager = self[key] = MiddlewareManager(*key)
        return manager


MIDDLEWARE_MANAGERS = _MiddlewareManagers()


_undecorated_dispatch = GraphQLView.dispatch.__wrapped__


class Unauthorized(HttpError):
    """A deferred bearer refused (``tokens.defer``): the 401 the middleware gives the rest."""

    def __init__(self, failure: AuthError) -> None:
        super().__init__(unauthorized(failure), failure.message)
        self.code = str(failure.code)


def _settle(request: HttpRequest) -> None:
    try:
        tokens.settle(request)
    except AuthError as exc:
        raise Unauthorized(exc) from exc


def _checks_session_itself(
    schema: GraphQLSchema, operation: OperationDefinitionNode | None
) -> bool:
    """Whether ``operation`` is one mutation whose statement checks its bearer's session
    (``DomainMutation.checks_session``): then nothing else reads the session first."""
    if operation is None or operation.operation != OperationType.MUTATION:
        return False
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return False
    node = selections[0]
    field = schema.mutation_type.fields.get(node.name.value) if schema.mutation_type else None
    payload = getattr(field.type, "graphene_type", None) if field is not None else None
    return not node.directives and bool(getattr(payload, "checks_session", False))


class ApiView(GraphQLView):
    """graphene-django's view with the platform's rules.

    - Bodies over ``GRAPHQL_MAX_BODY_BYTES`` are refused (413) before parsing.
    - Only bearer tokens authenticate: a session cookie (the admin's) is ignored,
      so these CSRF-exempt endpoints cannot be driven by another site.
    - One operation per request (no batching).
    - Parsing and validation are done once per distinct document and cached: the
      front ends send a fixed set of operations, and validation is most of
      graphene's per-request cost (see ARCHITECTURE.md, Performance facts). The
      cache belongs to the class, not the instance: Django makes a new view
      instance for every request. It is keyed by schema, rules and document, and
      bounded by entries and by total document length (a parsed document takes
      about a hundred times its length in memory); larger documents are not kept.
    - The database connection goes back to the public schema after each request.
    - ``merchant_api=True`` (the merchant endpoint) audits its mutations
      (``tenants.audit``) and is the only endpoint API keys authenticate.
    """

    merchant_api = False

    cache_size = 512
    cache_max_document = 8 * 1024
    cache_max_total = 256 * 1024
    _documents: OrderedDict[tuple[Any, ...], Cached] = OrderedDict()
    _documents_length = 0
    _documents_lock = Lock()

    def __init__(self, **kwargs: Any) -> None:
        self.merchant_api = kwargs.pop("merchant_api", False)
        kwargs.setdefault("middleware", [field_middleware])
        kwargs.setdefault("validation_rules", validation_rules())
        kwargs.setdefault("graphiql", settings.GRAPHIQL)
        super().__init__(**kwargs)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > settings.GRAPHQL_MAX_BODY_BYTES:
            return _error("The request body is too large.", "REQUEST_TOO_LARGE", 413)
        if getattr(request, "auth_session", None) is None:
            request.user = AnonymousUser()
        request.merchant_api = self.merchant_api  # type: ignore[attr-defined]  # ours, read back with getattr
        try:
            # graphene-django wraps dispatch in ensure_csrf_cookie: a new masked CSRF
            # token and a Set-Cookie on every answer (4% of a claim's CPU). These
            # endpoints never read cookies (bearer only), so skip the wrapper.
            response = _undecorated_dispatch(self, request, *args, **kwargs)
        finally:
            connection.set_schema_to_public()
        if getattr(request, "service_unavailable", False):
            # A resolver lost the database (api.middleware): say "retry" in
            # the status too, so that proxies and clients treat it as transient.
            response.status_code = 503
            response["Retry-After"] = str(unavailable.RETRY_AFTER_SECONDS)
        return response

    @staticmethod
    def format_error(error: Exception) -> dict[str, Any]:
        if isinstance(error, Unauthorized):
            return {"message": error.message, "extensions": {"code": error.code}}
        # graphene-django answers an HttpError with {"message": str(error)}; give it a
        # code like every other error (and never a JSON document as the message).
        if isinstance(error, HttpError):
            code = HTTP_ERROR_CODES.get(error.response.status_code, "BAD_REQUEST")
            return {"message": error.message, "extensions": {"code": code}}
        return GraphQLView.format_error(error)

    def parse_body(self, request: HttpRequest) -> Any:
        # graphene-django refuses a JSON list with a generic message; say why.
        if (
            self.get_content_type(request) == "application/json"
            and request.body.lstrip()[:1] == b"["
        ):
            raise HttpError(HttpResponseBadRequest(), "Batched requests are not supported.")
        return super().parse_body(request)

    def _document(self, query: str) -> Cached:
        key = (self.schema.graphql_schema, tuple(self.validation_rules), query)
        cls = ApiView  # one cache, whichever subclass serves the request
        with cls._documents_lock:
            cached = cls._documents.get(key)
            if cached is not None:
                cls._documents.move_to_end(key)
                return cached
        try:
            document = parse(query)
        except GraphQLError as exc:
            result: tuple[DocumentNode | None, list[GraphQLError]] = (
                None,
                [_with_code(exc, "GRAPHQL_PARSE_FAILED")],
            )
        else:
            errors = validate(self.schema.graphql_schema, document, self.validation_rules)
            result = (
                document,
                [_with_code(e, CoreErrorCode.GRAPHQL_VALIDATION_FAILED) for e in errors],
            )
        if len(query) <= self.cache_max_document:
            with cls._documents_lock:
                if cls._documents.pop(key, None) is not None:
                    cls._documents_length -= len(query)
                cls._documents[key] = result
                cls._documents_length += len(query)
                while (
                    len(cls._documents) > self.cache_size
                    or cls._documents_length > self.cache_max_total
                ):
                    evicted, _result = cls._documents.popitem(last=False)
                    cls._documents_length -= len(evicted[-1])
        return result

    def execute_graphql_request(
        self,
        request: HttpRequest,
        data: Any,
        query: str | None,
        variables: Any,
        operation_name: str | None,
        show_graphiql: bool = False,
    ) -> ExecutionResult | None:
        if not query:
            if show_graphiql:
                return None
            raise HttpError(HttpResponseBadRequest(), "Must provide query string.")
        if "\x00" in query or "\\u0000" in query or _has_nul(variables):
            # PostgreSQL text cannot hold U+0000: refused here, once, for every field,
            # rather than as an internal error wherever such a string meets the database.
            raise HttpError(HttpResponseBadRequest(), "Text may not contain NUL (U+0000).")
        if variables is not None and not isinstance(variables, dict):
            raise HttpError(HttpResponseBadRequest(), "Variables must be a JSON object.")
        document, errors = self._document(query)
        operation = None if document is None else get_operation_ast(document, operation_name)
        if tokens.unsettled(request) is not None and (
            errors or not _checks_session_itself(self.schema.graphql_schema, operation)
        ):
            # A deferred bearer (tokens.defer): checked now, before anything runs.
            _settle(request)
        if document is None or errors:
            return ExecutionResult(data=None, errors=errors)
        if (
            request.method == "GET"  # Django upper-cases the method
            and operation is not None
            and operation.operation != OperationType.QUERY
        ):
            if show_graphiql:
                return None
            raise HttpError(HttpResponseNotAllowed(["POST"]), "Mutations need POST.")
        result = execute(
            self.schema.graphql_schema,
            document,
            root_value=self.get_root_value(request),
            context_value=self.get_context(request),
            variable_values=variables,
            operation_name=operation_name,
            middleware=MIDDLEWARE_MANAGERS[tuple(self.get_middleware(request) or ())],
            # Without the operation, build's errors are about finding it, not coercion.
            execution_context_class=(
                CodedExecutionContext if operation is not None else LeanExecutionContext
            ),
        )
        # No resolver here is async, so execute returns the result, never an awaitable.
        assert isinstance(result, ExecutionResult)
        # What graphql-core refuses before any resolver runs (no operation of that name,
        # several operations and no name) comes without a code: every error has one.
        for error in result.errors or ():
            _with_code(error, CoreErrorCode.GRAPHQL_VALIDATION_FAILED)
        if tokens.unsettled(request) is not None and not getattr(
            request, "service_unavailable", False
        ):
            # The operation answered before its gated statement admitted the bearer (an
            # argument refused, a replay): the session is checked now, so that a refused
            # one gets its 401 whatever the operation answered (decision 0344). Not when
            # it lost the database (its answer is a bare "retry", 503): the check could
            # only fail the same way, and the answer says nothing a session may not hear.
            _settle(request)
        failure: AuthError | None = getattr(request, "auth_failure", None)
        if failure is not None:
            # The operation checked its deferred bearer itself and refused it: the same
            # 401 as any other request's (nothing was written: tokens.gated).
            raise Unauthorized(failure)
        return result
