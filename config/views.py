"""The GraphQL HTTP view shared by both APIs: limits, bearer-only auth, validation cache."""

from __future__ import annotations

import json
from collections import OrderedDict
from threading import Lock
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from graphene.validation import DisableIntrospection, depth_limit_validator
from graphene_django.views import GraphQLView, HttpError
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation import ValidationRule

from config.api import domain_errors_middleware
from graphql import (
    ExecutionResult,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)


def _error(message: str, code: str, status: int) -> JsonResponse:
    return JsonResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status=status
    )


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    """Give a parse or validation error a stable ``extensions.code`` like every other error."""
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code}
    return error


class CostLimitRule(ValidationRule):
    """Refuse operations whose estimated cost or alias count is too high.

    Cost: one per field, and a connection's children count once per item asked for
    (``first``/``last``; a variable counts as the largest page). Computed from the
    document alone, so the verdict can be cached with it.
    """

    max_cost = 5000
    max_aliases = 30
    page = 100

    def enter_document(self, node: DocumentNode, *_args: Any) -> None:
        self.fragments = {
            d.name.value: d for d in node.definitions if d.kind == "fragment_definition"
        }
        aliases = 0
        for definition in node.definitions:
            if isinstance(definition, OperationDefinitionNode):
                cost, aliases_here = self._cost(definition.selection_set, frozenset())
                aliases += aliases_here
                if cost > self.max_cost:
                    self.report_error(
                        GraphQLError(
                            f"Query cost {cost} exceeds the limit of {self.max_cost}.",
                            definition,
                            extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
                        )
                    )
        if aliases > self.max_aliases:
            self.report_error(
                GraphQLError(
                    f"{aliases} aliases exceed the limit of {self.max_aliases}.",
                    extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
                )
            )

    def _cost(
        self, selection_set: SelectionSetNode | None, seen: frozenset[str]
    ) -> tuple[int, int]:
        if selection_set is None:
            return 0, 0
        cost = aliases = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                aliases += selection.alias is not None
                multiplier = 1
                for argument in selection.arguments or ():
                    if argument.name.value in ("first", "last"):
                        value = argument.value
                        multiplier = (
                            min(int(value.value), self.page)
                            if isinstance(value, IntValueNode)
                            else self.page
                        )
                child_cost, child_aliases = self._cost(selection.selection_set, seen)
                cost += 1 + multiplier * child_cost
                aliases += child_aliases
            elif isinstance(selection, InlineFragmentNode):
                child_cost, child_aliases = self._cost(selection.selection_set, seen)
                cost, aliases = cost + child_cost, aliases + child_aliases
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue  # unknown or cyclic: other rules report it
                child_cost, child_aliases = self._cost(fragment.selection_set, seen | {name})
                cost, aliases = cost + child_cost, aliases + child_aliases
        return cost, aliases


def validation_rules() -> list[type[ValidationRule]]:
    cost_rule = type(
        "ConfiguredCostLimitRule",
        (CostLimitRule,),
        {
            "max_cost": settings.GRAPHQL_MAX_COST,
            "max_aliases": settings.GRAPHQL_MAX_ALIASES,
            "page": settings.GRAPHQL_MAX_PAGE_SIZE,
        },
    )
    rules: list[type[ValidationRule]] = [
        depth_limit_validator(max_depth=settings.GRAPHQL_MAX_DEPTH),
        cost_rule,
    ]
    if not settings.GRAPHQL_INTROSPECTION:
        rules.append(DisableIntrospection)
    return rules


class ApiView(GraphQLView):
    """graphene-django's view with the platform's rules.

    - Bodies over ``GRAPHQL_MAX_BODY_BYTES`` are refused (413) before parsing.
    - Only bearer tokens authenticate: a session cookie (the admin's) is ignored,
      so these CSRF-exempt endpoints cannot be driven by another site.
    - One operation per request (no batching).
    - Parsing and validation are done once per distinct document and cached: the
      front ends send a fixed set of operations, and validation is most of
      graphene's per-request cost (see ARCHITECTURE.md, Performance facts).
    - The database connection goes back to the public schema after each request.
    """

    cache_size = 512

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("middleware", [domain_errors_middleware])
        kwargs.setdefault("validation_rules", validation_rules())
        kwargs.setdefault("graphiql", settings.GRAPHIQL)
        super().__init__(**kwargs)
        self._documents: OrderedDict[str, tuple[DocumentNode | None, list[GraphQLError]]] = (
            OrderedDict()
        )
        self._documents_lock = Lock()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > settings.GRAPHQL_MAX_BODY_BYTES:
            return _error("The request body is too large.", "REQUEST_TOO_LARGE", 413)
        if getattr(request, "auth_session", None) is None:
            request.user = AnonymousUser()
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            connection.set_schema_to_public()

    def parse_body(self, request: HttpRequest) -> Any:
        body = super().parse_body(request)
        if isinstance(body, list):
            raise HttpError(
                HttpResponse(
                    json.dumps({"errors": [{"message": "Batched requests are not supported."}]}),
                    status=400,
                    content_type="application/json",
                )
            )
        return body

    def _document(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        with self._documents_lock:
            cached = self._documents.get(query)
            if cached is not None:
                self._documents.move_to_end(query)
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
            result = (document, [_with_code(e, "GRAPHQL_VALIDATION_FAILED") for e in errors])
        with self._documents_lock:
            self._documents[query] = result
            if len(self._documents) > self.cache_size:
                self._documents.popitem(last=False)
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
            raise HttpError(
                HttpResponse(
                    json.dumps({"errors": [{"message": "Must provide query string."}]}),
                    status=400,
                    content_type="application/json",
                )
            )
        document, errors = self._document(query)
        if document is None or errors:
            return ExecutionResult(data=None, errors=errors)
        operation = get_operation_ast(document, operation_name)
        if (
            request.method.lower() == "get"
            and operation is not None
            and operation.operation != OperationType.QUERY
        ):
            if show_graphiql:
                return None
            raise HttpError(
                HttpResponse(
                    json.dumps({"errors": [{"message": "Mutations need POST."}]}),
                    status=405,
                    content_type="application/json",
                )
            )
        return execute(
            self.schema.graphql_schema,
            document,
            root_value=self.get_root_value(request),
            context_value=self.get_context(request),
            variable_values=variables,
            operation_name=operation_name,
            middleware=self.get_middleware(request),
        )
