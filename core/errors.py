"""The one base class for expected, user-facing failures, and the base of every error code.

Services raise a ``DomainError`` subclass with a stable machine code (the GraphQL
``errors { code }`` enum value) and a human message. The GraphQL mutations turn it
into payload data; management commands print it and exit non-zero.

Each domain declares its codes in its own ``error_codes.py`` as an ``ErrorCodeEnum``
(Saleor's ``saleor/<domain>/error_codes.py``); ``api.errors`` joins them into each
schema's single ``ErrorCode`` enum. A code is a ``str`` whose value is its name, so
it compares, hashes and serialises exactly like the bare string clients see.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from django.utils.functional import Promise


class ErrorCodeEnum(StrEnum):
    """Base of the domains' error-code enums: each member is ``NAME = "NAME", "description"``.

    The description documents the code for API clients (``docs/api.md``) and for the
    front ends' message catalogues; it is not part of the GraphQL schema.
    """

    description: str

    def __new__(cls, value: str, description: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member


class DomainError(Exception):
    def __init__(
        self, code: ErrorCodeEnum, message: str | Promise, field: str | None = None
    ) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = str(message)
        self.field = field

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, field={self.field!r})"


class DomainErrors(DomainError):
    """Several problems at once (every field at fault): each is reported (``errors``), the
    first is the headline, so code that reads one ``code`` still sees a refusal."""

    def __init__(self, errors: list[DomainError]) -> None:
        first = errors[0]
        super().__init__(first.code, first.message, first.field)
        self.errors = errors
