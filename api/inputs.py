"""Every argument's value checked against the rule its schema description states.

The description is the contract a client reads, so it is also what is enforced:

- an ``Int``, ``BigInt`` or ``Float`` argument states its range as ``<low> to <high>``
  (``"1 to 90."``, ``"-90 to 90"``); a value outside it is refused. The connection arguments
  ``first``/``last``/``offset`` are bounded by ``api.middleware._check_paging``.
- a ``String`` argument is single-line text of at most
  ``core.text.DEFAULT_MAX_LENGTH`` characters unless its description says
  ``several lines`` and/or ``at most <n> characters`` (or ``<m> to <n> characters``);
  the characters allowed per kind are ``core.text``'s. The value the resolver gets
  is the NFC-normalised text.
- a pair of arguments that bound a range (``since``/``until``, ``startsAt``/``endsAt``,
  ``from``/``to``, ``minPoints``/``maxPoints``) may not end before it starts.

Each refusal is ``INVALID_INPUT`` naming the argument, raised before the resolver
runs, so nothing is written. ``tests/test_strict_input.py`` sweeps every argument
of both schemas with the bad values of its type.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from threading import Lock
from typing import Any

from django.utils.translation import gettext as _

from core.error_codes import CoreErrorCode
from core.errors import DomainError, DomainErrors, ErrorCodeEnum
from core.text import DEFAULT_MAX_LENGTH, TextKind, clean_text
from graphql import GraphQLArgument, GraphQLField, GraphQLScalarType, get_named_type

INTEGER_SCALARS = {"Int", "BigInt"}
# Numbers whose range a description states the same way (a location's degrees).
RANGED_SCALARS = INTEGER_SCALARS | {"Float"}
PAGING_ARGUMENTS = {"first", "last", "offset"}
RANGE_PAIRS = (
    ("since", "until"),
    ("startsAt", "endsAt"),
    ("from", "to"),
    ("minPoints", "maxPoints"),
)

_INTEGER_RANGE = re.compile(r"(-?\d[\d,]*) to (-?\d[\d,]*)(?! *characters)")
_TEXT_LENGTH = re.compile(r"(?:at most|to) (\d[\d,]*) characters", re.IGNORECASE)
_SEVERAL_LINES = re.compile(r"several lines", re.IGNORECASE)


def _number(text: str) -> int:
    return int(text.replace(",", ""))


@dataclass(frozen=True)
class ArgumentRule:
    """What one argument accepts, as its description states it."""

    name: str  # the GraphQL name, for the error's ``field``
    scalar: str  # the named type
    low: int | None = None
    high: int | None = None
    kind: TextKind = TextKind.SINGLE_LINE
    max_length: int = DEFAULT_MAX_LENGTH


def argument_rule(name: str, argument: GraphQLArgument) -> ArgumentRule | None:
    """The rule of one argument, or None for the types checked elsewhere (IDs, enums,
    booleans, dates and the strict scalars in ``api.scalars``)."""
    scalar = get_named_type(argument.type)
    if not isinstance(scalar, GraphQLScalarType):
        return None
    description = argument.description or ""
    if scalar.name in RANGED_SCALARS:
        found = _INTEGER_RANGE.search(description)
        if found is None:
            return ArgumentRule(name, scalar.name)
        return ArgumentRule(name, scalar.name, _number(found[1]), _number(found[2]))
    if scalar.name == "String":
        length = _TEXT_LENGTH.search(description)
        return ArgumentRule(
            name,
            scalar.name,
            kind=TextKind.MULTI_LINE
            if _SEVERAL_LINES.search(description)
            else TextKind.SINGLE_LINE,
            max_length=_number(length[1]) if length else DEFAULT_MAX_LENGTH,
        )
    return None


@dataclass(frozen=True)
class FieldRules:
    """The rules of one field's arguments, by the resolver's (Python) argument name."""

    arguments: dict[str, ArgumentRule]
    # (start, end) as Python names, with the GraphQL names for the message
    pairs: tuple[tuple[str, str, str, str], ...]


# By id(field): a GraphQLField compares by value and cannot be hashed. The field is
# kept beside its rules, so its id cannot be reused by another object.
_rules: dict[int, tuple[GraphQLField, FieldRules]] = {}
_rules_lock = Lock()


def field_rules(field: GraphQLField) -> FieldRules:
    """The rules of a field's arguments, read once per field of the schema."""
    cached = _rules.get(id(field))
    if cached is not None and cached[0] is field:
        return cached[1]
    arguments: dict[str, ArgumentRule] = {}
    python_names: dict[str, str] = {}
    for name, argument in field.args.items():
        python_names[name] = argument.out_name or name
        rule = argument_rule(name, argument)
        if rule is not None:
            arguments[python_names[name]] = rule
    pairs = tuple(
        (python_names[start], python_names[end], start, end)
        for start, end in RANGE_PAIRS
        if start in python_names and end in python_names
    )
    rules = FieldRules(arguments, pairs)
    with _rules_lock:
        _rules[id(field)] = (field, rules)
    return rules


class InputRefused(DomainErrors):
    """Every argument refused by its rule, reported at once (``errors``)."""


def _check(rule: ArgumentRule, value: Any, check_limits: bool) -> Any:
    if isinstance(value, list):
        return [_check(rule, item, check_limits) for item in value]
    if isinstance(value, str) and rule.scalar == "String":
        limit = rule.max_length if check_limits else len(value)
        return clean_text(value, rule.kind, limit, rule.name)
    if (
        check_limits
        and isinstance(value, int | float)
        and rule.low is not None
        and rule.high is not None
        and not rule.low <= value <= rule.high
    ):
        raise DomainError(
            CoreErrorCode.INVALID_INPUT,
            _("%(field)s must be from %(low)d to %(high)d.")
            % {"field": rule.name, "low": rule.low, "high": rule.high},
            rule.name,
        )
    return value


def clean_arguments(
    field: GraphQLField,
    args: dict[str, Any],
    codes: Mapping[str, ErrorCodeEnum] | None = None,
    limits_checked_by_service: Collection[str] = (),
) -> dict[str, Any]:
    """``args`` checked against their rules, text normalised; else ``InputRefused``.

    ``codes`` (by GraphQL argument name) keeps the domain's own code for an argument
    whose refusal clients already know by it (``INVALID_BATCH_SIZE`` rather than
    ``INVALID_INPUT``). ``limits_checked_by_service`` names arguments whose length or
    range the service checks itself, reporting every field at fault at once (sign-up);
    their characters are still checked here.
    """
    rules = field_rules(field)
    codes = codes or {}
    cleaned = dict(args)
    errors: list[DomainError] = []
    for python_name, value in args.items():
        rule = rules.arguments.get(python_name)
        if rule is None or value is None:
            continue
        try:
            cleaned[python_name] = _check(rule, value, rule.name not in limits_checked_by_service)
        except DomainError as exc:
            errors.append(DomainError(codes.get(rule.name, exc.code), exc.message, exc.field))
    for start, end, start_name, end_name in rules.pairs:
        first, last = cleaned.get(start), cleaned.get(end)
        if first is not None and last is not None and first > last:
            errors.append(
                DomainError(
                    codes.get(end_name, CoreErrorCode.INVALID_INPUT),
                    _("%(end)s may not be before %(start)s.")
                    % {"start": start_name, "end": end_name},
                    end_name,
                )
            )
    if errors:
        raise InputRefused(errors)
    return cleaned


def type_refusal_codes(graphene_type: Any, field_name: str) -> dict[str, ErrorCodeEnum]:
    """The domain codes an object type declares for its fields' arguments:
    ``refusal_codes = {"dashboard": {"days": CampaignErrorCode.INVALID_PERIOD}}``, merged
    over its bases (the root query types are built from each domain's queries)."""
    codes: dict[str, ErrorCodeEnum] = {}
    for klass in reversed(getattr(graphene_type, "__mro__", ())):
        codes.update(klass.__dict__.get("refusal_codes", {}).get(field_name, {}))
    return codes
