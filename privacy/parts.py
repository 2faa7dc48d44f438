"""What each app keeps about a consumer: its part of a data copy and of an erasure.

Mirrors ``accounts.merge``'s steps (decision 0174): the apps that keep personal data
stand above this module (points, the mall, campaigns), so they register their part
from their ``ready()`` rather than being called from here.

- ``copy(consumer_id)``: the app's sections of the consumer's data copy, each a list of
  flat rows (``{column: value}``): one JSON key and one CSV file per section.
- ``erase(consumer_id)``: runs inside the erasure's transaction, in ``order``, after the
  user row is locked; erases or pseudonymises what the app keeps (decision 0186).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class PersonalDataPart:
    name: str
    order: int
    copy: Callable[[int], dict[str, Rows]]
    erase: Callable[[int], object]


_parts: dict[str, PersonalDataPart] = {}


def register(part: PersonalDataPart) -> None:
    """Called by an app's ``ready()``; registering a name again replaces it."""
    _parts[part.name] = part


def parts() -> list[PersonalDataPart]:
    return sorted(_parts.values(), key=lambda part: part.order)
