"""The one base class for expected, user-facing failures.

Services raise a ``DomainError`` subclass with a stable machine code (the GraphQL
``errors { code }`` enum value) and a human message. The GraphQL mutations turn it
into payload data; management commands print it and exit non-zero.
"""

from __future__ import annotations

from django.utils.functional import Promise


class DomainError(Exception):
    def __init__(self, code: str, message: str | Promise, field: str | None = None) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = str(message)
        self.field = field

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, field={self.field!r})"
