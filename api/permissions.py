"""Who is asking, and which merchant a merchant-API request acts for.

``require_consumer`` / ``require_membership``: who may do what (staff or an API key);
``gated_consumer`` and ``as_consumer`` for a consumer mutation whose statement checks
the session itself.
``require_membership`` also switches the connection to the merchant's schema: the
merchant API's tenancy is decided here, after the membership check, never from the
host alone (docs/decisions: "Merchant API picks the merchant by X-Merchant ...").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TypeVar

import graphene
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts import tokens
from accounts.models import User
from accounts.tokens import Bearer
from core.db import connection
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from tenants import apikeys
from tenants.error_codes import MerchantErrorCode
from tenants.models import ApiKey, Domain, Membership, Merchant, Role

Result = TypeVar("Result")


def client_ip(request: HttpRequest) -> str | None:
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR")


def user_agent(request: HttpRequest) -> str:
    """The caller's User-Agent, recorded with a session so that its owner can tell it apart."""
    return request.headers.get("User-Agent", "")


def require_user(info: graphene.ResolveInfo) -> User:
    user = info.context.user
    if not user.is_authenticated:
        raise DomainError(CoreErrorCode.UNAUTHENTICATED, _("Sign in first."))
    return user


def require_consumer(info: graphene.ResolveInfo) -> User:
    user = require_user(info)
    if not user.is_consumer:
        raise DomainError(CoreErrorCode.PERMISSION_DENIED, _("Only consumers can do this."))
    return user


@contextmanager
def gated_consumer(info: graphene.ResolveInfo) -> Iterator[Bearer | None]:
    """For a mutation whose one statement checks its bearer's session itself
    (``DomainMutation.checks_session``): the bearer to pass to the service's gated call
    when nothing has checked the session yet; else None, and ``require_consumer`` as ever.

    What the mutation refuses before a gate admitted the bearer (an argument, a gate
    that refused) gives way to ``require_consumer``'s own refusals, as if it had run
    first: a refused session is answered 401 and staff PERMISSION_DENIED (decision 0344).
    """
    bearer = tokens.unsettled(info.context)
    try:
        yield bearer
    except DomainError:
        if tokens.unsettled(info.context) is not None:
            require_consumer(info)
        raise


def as_consumer(
    info: graphene.ResolveInfo,
    bearer: Bearer | None,
    act: Callable[[User, Bearer | None], Result],
) -> Result:
    """``act`` as the request's consumer: through the gate (``gated_consumer``'s
    ``bearer``, its lazy user and ``gate=bearer``) when there is one, else, or when the
    gate refused (``tokens.GateRefused``), as the consumer ``require_consumer`` checked
    (``gate=None``), the full way."""
    if bearer is not None:
        with suppress(tokens.GateRefused):
            return act(info.context.user, bearer)
    return act(require_consumer(info), None)


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
            raise DomainError(
                MerchantErrorCode.MERCHANT_NOT_FOUND, _("This API key belongs to another merchant.")
            )
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
                    MerchantErrorCode.MERCHANT_REQUIRED,
                    _("Choose a merchant with the X-Merchant header."),
                )
            membership = candidates[0]
        else:
            lookup = "merchant__slug" if hint[0] == "slug" else "merchant__domains__domain"
            membership = memberships.filter(**{lookup: hint[1]}).first()
            if membership is None:
                raise DomainError(
                    MerchantErrorCode.MERCHANT_NOT_FOUND,
                    _("No merchant you belong to matches this request."),
                )
        request._membership = membership
        _enter(membership.merchant)
    if approved:
        membership.merchant.ensure_approved()
    if not membership.has_role(role):
        raise DomainError(
            CoreErrorCode.PERMISSION_DENIED,
            _("This needs the %(role)s role or higher.") % {"role": Role(role).label},
        )
    return membership


def _enter(merchant: Merchant) -> None:
    """Switch the connection to the merchant's schema, if it has one (an application
    has none: its fields are refused before any query could look there)."""
    if merchant.is_provisioned:
        connection.set_tenant(merchant)
