"""The mutation base of both schemas: expected failures come back as payload ``errors``."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene

from api.errors import Error, error_from
from api.inputs import clean_arguments
from core.errors import DomainError, DomainErrors, ErrorCodeEnum
from tenants import apikeys, audit
from tenants.models import ApiKey


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

    # The domain's own code for an argument refused by its rule (api.inputs), by GraphQL
    # argument name; INVALID_INPUT otherwise.
    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {}
    # Arguments whose length or range the service checks and reports with the others.
    limits_checked_by_service: ClassVar[tuple[str, ...]] = ()
    # True: the mutation's statement checks a deferred bearer's session itself
    # (accounts.tokens.gated), so the view does not read it first (decisions 0343, 0344).
    # The mutation must then read nothing of ``info.context.user`` before that statement,
    # and runs inside ``api.permissions.gated_consumer``.
    checks_session: ClassVar[bool] = False

    # ``*args: Any, **kwargs: Any`` is how mypy spells "any arguments": each subclass
    # names its own GraphQL arguments, which a ``**kwargs``-only signature would forbid.
    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, *args: Any, **kwargs: Any
    ) -> DomainMutation:
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
                # Saleor's clean_input: every argument against its rule, before anything.
                kwargs = clean_arguments(
                    info.parent_type.fields[info.field_name],
                    kwargs,
                    cls.refusal_codes,
                    cls.limits_checked_by_service,
                )
                payload = cls.perform(root, info, **kwargs)
            except DomainError as exc:
                # Several problems at once (DomainErrors): report them all.
                found = exc.errors if isinstance(exc, DomainErrors) else [exc]
                errors = [error_from(e) for e in found]
                result = errors[0].code
                return cls(errors=errors)
            if getattr(payload, "errors", None) is None:
                payload.errors = []
            result = payload.errors[0].code if payload.errors else "ok"
            return payload
        finally:
            if getattr(info.context, "merchant_api", False):
                audit.record(info.context, info.field_name, kwargs, result)
