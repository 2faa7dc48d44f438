"""GraphQL input as the domain takes it."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def aware(value: datetime | None) -> datetime | None:
    """A ``DateTime`` argument without a UTC offset, read in the current time zone (as
    Django reads naive datetimes): the domain compares aware datetimes only."""
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value
