"""The audit log: every merchant-API mutation, recorded in one place.

``api.DomainMutation.mutate`` calls ``record`` after every mutation of the
merchant API (``ApiView(merchant_api=True)``), whether it succeeded, was refused
(role, scope, validation) or crashed, so no mutation can forget to log itself.
Recorded: mutations with an actor (a signed-in staff member or an API key), and
staff sign-in attempts (no merchant: a person signs in once for all their
merchants). Anonymous calls of other mutations change nothing and name no one,
and are not recorded.

Events are append-only (a database trigger) and readable by the merchant's owners
(``auditLog``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from graphene.utils.str_converters import to_camel_case

from tenants.models import AuditEvent

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"
# An argument whose name contains one of these is never stored (password, token,
# refreshToken, secret, WeChat's authCode…).
SECRET_WORDS = ("password", "token", "secret", "authcode")
# Mutations recorded even when anonymous, with the argument that names the actor:
# sign-in attempts and merchant sign-ups (no merchant: operators see them in the admin).
ANONYMOUS_MUTATIONS = {"signIn": "email", "merchantSignUp": "contact_email"}
MAX_STRING = 200
MAX_ITEMS = 20
MAX_DEPTH = 4
MAX_ARGUMENT_JSON = 1000


def _is_secret(name: str) -> bool:
    lowered = name.lower().replace("_", "")  # authCode and auth_code alike
    return any(word in lowered for word in SECRET_WORDS)


def _clean(value: Any, depth: int = 0) -> Any:
    """A JSON-safe, bounded copy of an argument value, secrets removed at every level."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return _clean(value.value, depth)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING else value[:MAX_STRING] + "…"
    if depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        items = list(value.items())
        cleaned = {
            str(k): REDACTED if _is_secret(str(k)) else _clean(v, depth + 1)
            for k, v in items[:MAX_ITEMS]
        }
        if len(items) > MAX_ITEMS:
            cleaned["…"] = f"{len(items) - MAX_ITEMS} more"
        return cleaned
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        cleaned_list = [_clean(v, depth + 1) for v in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            cleaned_list.append(f"… {len(items) - MAX_ITEMS} more")
        return cleaned_list
    return _clean(getattr(value, "value", str(value)), depth)


def summarize(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The mutation's arguments as the log keeps them: GraphQL names, secrets redacted,
    each argument at most about ``MAX_ARGUMENT_JSON`` characters."""
    summary: dict[str, Any] = {}
    for name, value in arguments.items():
        key = to_camel_case(name)
        if _is_secret(name):
            summary[key] = REDACTED
            continue
        cleaned = _clean(value)
        size = len(json.dumps(cleaned, ensure_ascii=False))
        summary[key] = cleaned if size <= MAX_ARGUMENT_JSON else f"[{size} characters omitted]"
    return summary


def record(request: HttpRequest, mutation: str, arguments: Mapping[str, Any], result: str) -> None:
    """Write the event for one mutation; never fails the mutation it describes."""
    key = getattr(request, "api_key", None)
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    if key is None and not signed_in and mutation not in ANONYMOUS_MUTATIONS:
        return
    membership = getattr(request, "_membership", None)
    if key is not None:
        merchant_id, label = key.merchant_id, key.prefix
    else:
        merchant_id = membership.merchant_id if membership is not None else None
        actor_argument = ANONYMOUS_MUTATIONS.get(mutation, "email")
        label = (
            (user.email or "")
            if signed_in and user is not None  # signed_in implies a user
            else str(arguments.get(actor_argument, "")).strip().lower()
        )
    try:
        AuditEvent.objects.create(
            merchant_id=merchant_id,
            actor_user=user if signed_in and key is None else None,
            api_key=key,
            actor_label=label[:254],
            mutation=mutation[:100],
            input=summarize(arguments),
            result=result[:64],
            ip=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.headers.get("User-Agent", "")[:200],
        )
    except Exception:  # the mutation already happened; losing its record must be loud
        logger.exception("audit event for %s could not be written", mutation)


def events(
    merchant_id: int,
    *,
    actor: str | None = None,
    mutation: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """A merchant's events, newest first, filtered (``actor``: an email or a key prefix)."""
    found = AuditEvent.objects.filter(merchant_id=merchant_id).select_related("api_key")
    if actor:
        found = found.filter(actor_label__iexact=actor.strip())
    if mutation:
        found = found.filter(mutation=mutation.strip())
    if since is not None:
        found = found.filter(created_at__gte=since)
    if until is not None:
        found = found.filter(created_at__lt=until)
    return found.order_by("-id")
