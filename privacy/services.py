"""The consumer's requests: a copy of their data, the deletion of their account."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from privacy import fresh_code
from privacy.models import DataCopy
from privacy.tasks import build_data_copy


def request_copy(consumer: User, code: str) -> DataCopy:
    """Check the fresh code and queue the copy's build (after the commit)."""
    fresh_code.check(consumer, code)
    with transaction.atomic():
        data_copy = DataCopy.objects.create(user=consumer)
        transaction.on_commit(lambda: build_data_copy.delay(data_copy.pk))
    return data_copy


def latest_copy(consumer: User) -> DataCopy | None:
    return DataCopy.objects.filter(user=consumer).order_by("-requested_at", "-id").first()
