"""Writing a batch's codes with PostgreSQL COPY, in committed chunks that can resume.

Each chunk is one transaction: lock the batch row, write serials ``generated …
generated + chunk`` with COPY, move ``generated`` and the heartbeat, commit. A
worker killed mid-chunk loses only that uncommitted chunk; whoever runs the batch
next (a redelivered task, or ``resume_stalled_batches``) continues from the last
committed serial, and two runners at once simply take turns on the row lock. So
no serial is written twice or skipped, and ``(batch, serial)`` is unique anyway.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import BatchStatus, CodeBatch
from campaigns.scan.codes import ALPHABET, BASE, RANDOM_WIDTH, check_character, encode_merchant
from core.db import connection
from webhooks import events, payloads
from webhooks.models import EventType

logger = logging.getLogger(__name__)

CHUNK_SIZE = 20_000
# Small batches in smaller chunks, so that the progress a merchant watches moves in
# about twenty steps (a chunk is one commit: progress moves per chunk).
MIN_CHUNK_SIZE = 500
PROGRESS_STEPS = 20


def chunk_size_for(size: int) -> int:
    return max(MIN_CHUNK_SIZE, min(CHUNK_SIZE, -(-size // PROGRESS_STEPS)))


RANDOM_BYTES = (RANDOM_WIDTH * 5 + 7) // 8  # 9 bytes for 65 bits


def _random_part() -> str:
    value = int.from_bytes(secrets.token_bytes(RANDOM_BYTES), "big") >> (
        RANDOM_BYTES * 8 - RANDOM_WIDTH * 5
    )
    chars = []
    for _ in range(RANDOM_WIDTH):
        value, digit = divmod(value, BASE)
        chars.append(ALPHABET[digit])
    return "".join(chars)


def _rows(prefix: str, batch_id: int, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    for serial in range(start, end):
        payload = prefix + _random_part()
        yield payload + check_character(payload), batch_id, serial


def _copy_chunk(prefix: str, batch_id: int, start: int, end: int) -> None:
    copy_sql = "COPY campaigns_code (code, batch_id, serial) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for row in _rows(prefix, batch_id, start, end):
            copy.write_row(row)


def generate_batch(batch_id: int, chunk_size: int | None = None) -> CodeBatch:
    """Write every missing code of a batch; returns it ready (or as another runner left it).

    ``chunk_size`` defaults to ``chunk_size_for(batch.size)``.
    """
    prefix = encode_merchant(connection.tenant.pk)
    while True:
        with transaction.atomic():
            batch = CodeBatch.objects.select_for_update().get(pk=batch_id)
            if batch.status != BatchStatus.GENERATING:
                return batch
            start = batch.generated
            end = min(start + (chunk_size or chunk_size_for(batch.size)), batch.size)
            if start < end:
                try:
                    with transaction.atomic():
                        _copy_chunk(prefix, batch.pk, start, end)
                except IntegrityError:
                    # Two random codes met (about 1 in 2**45 per chunk): draw the chunk again.
                    logger.warning(
                        "code collision in batch %s chunk %s; redrawing", batch_id, start
                    )
                    continue
            batch.generated = end
            batch.heartbeat_at = timezone.now()
            fields = ["generated", "heartbeat_at"]
            if end == batch.size:
                batch.status = BatchStatus.READY
                batch.finished_at = batch.heartbeat_at
                fields += ["status", "finished_at"]
            batch.save(update_fields=fields)
            if end == batch.size:
                merchant_id = connection.tenant.pk
                events.record(
                    merchant_id,
                    EventType.BATCH_READY,
                    lambda: payloads.batch_ready(merchant_id, batch),  # noqa: B023 (called at once)
                )
        if end == batch.size:
            return batch


def mark_failed(batch_id: int, reason: str) -> None:
    CodeBatch.objects.filter(pk=batch_id, status=BatchStatus.GENERATING).update(
        status=BatchStatus.FAILED, failure_reason=reason[:500], finished_at=timezone.now()
    )
