"""The API's own ``BigInt`` and ``JSONString``: graphene's, made strict.

graphene's ``BigInt`` read a variable with ``int(float(value))``: ``"1e3"`` became
1000 and ``1.5`` became 1. Its ``JSONString`` loaded any JSON, so ``\\u0000`` in the
text became U+0000 after the edge's NUL check (``api.views``) had passed, and met
PostgreSQL's jsonb as an internal error. These keep the public names and refuse
instead; the view answers such a variable with ``INVALID_INPUT``.
"""

from __future__ import annotations

import json
from typing import Any

import graphene

from core.errors import DomainError
from core.text import clean_json_text
from graphql import IntValueNode, StringValueNode, Undefined, ValueNode

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1


def _big_int(value: Any) -> int:
    # bool is an int in Python but not in JSON: true is not 1.
    if type(value) is not int:
        raise ValueError("BigInt takes a whole number, not a string or a fraction.")
    if not BIGINT_MIN <= value <= BIGINT_MAX:
        raise ValueError("BigInt takes a whole number from -2^63 to 2^63-1.")
    return value


class BigInt(graphene.Scalar):
    """A whole number from -2^63 to 2^63-1, sent as a JSON number without a fraction or
    an exponent (`1e3`, `1.5` and `"5"` are refused). Arguments state their own range."""

    serialize = staticmethod(int)

    @staticmethod
    def parse_value(value: Any) -> int:
        return _big_int(value)

    @staticmethod
    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        if isinstance(node, IntValueNode):
            number = int(node.value)
            if BIGINT_MIN <= number <= BIGINT_MAX:
                return number
        return Undefined


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        raise ValueError("JSONString takes a string holding a JSON document.")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"Badly formed JSONString: {exc}") from exc
    try:
        return clean_json_text(value)
    except DomainError as exc:
        raise ValueError(exc.message) from exc


class JSONString(graphene.Scalar):
    """A JSON document sent as a string. Every string and key inside it is text of
    several lines (no control character but newline and tab, no bidirectional
    override), at most 2,000 characters each."""

    serialize = staticmethod(json.dumps)

    @staticmethod
    def parse_value(value: Any) -> Any:
        return _json(value)

    @staticmethod
    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        if isinstance(node, StringValueNode):
            return _json(node.value)
        return Undefined
