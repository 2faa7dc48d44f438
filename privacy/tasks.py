"""Celery tasks of the personal-data domain (decision 0126: shared tasks, literal names)."""

from __future__ import annotations

from celery import shared_task

from privacy import copies, erasure


@shared_task(name="privacy.tasks.build_data_copy")
def build_data_copy(copy_id: int) -> None:
    copies.build(copy_id)


@shared_task(name="privacy.tasks.erase_due_accounts")
def erase_due_accounts() -> int:
    """Beat: carry out the deletions whose cooling-off has passed; old copies' files go."""
    copies.expire_old()
    return erasure.erase_due()
