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

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import BatchStatus, CodeBatch
from campaigns.scan.codes import ALPHABET, BASE, RANDOM_WIDTH, VALUE, encode_merchant
from core.db import connection
from webhooks import events, payloads
from webhooks.models import EventType

logger = logging.getLogger(__name__)

# Large chunks, so that a chunk's codes, written in code order, fall several to a leaf
# of the primary key's index (see copy_text); a chunk's rows are about 7 MB of text.
CHUNK_SIZE = 200_000
# Small batches in smaller chunks, so that the progress a merchant watches moves in
# about twenty steps (a chunk is one commit: progress moves per chunk).
MIN_CHUNK_SIZE = 500
PROGRESS_STEPS = 20


def chunk_size_for(size: int) -> int:
    return max(MIN_CHUNK_SIZE, min(CHUNK_SIZE, -(-size // PROGRESS_STEPS)))


# The codes of a chunk are made in bulk, about 0.8 µs a code instead of 4 µs one by
# one (10,000,000 codes: 8 s of the worker's CPU instead of 40 s; docs/benchmarks.md).
# A random byte's low five bits pick a character: 256 is a multiple of 32, so every
# character is uniform over the alphabet and independent of the others, 65 random
# bits a code as before. The check character is codes.check_character's Luhn mod 32,
# summed from per-byte tables (tested equal to it): the random characters alternate
# between doubled and not from the right, and the merchant's prefix adds a constant.
_CHARACTER = bytes(ord(ALPHABET[byte % BASE]) for byte in range(256))
_SINGLE = bytes(byte % BASE for byte in range(256))
_DOUBLED = bytes((2 * (byte % BASE)) // BASE + (2 * (byte % BASE)) % BASE for byte in range(256))
# Offset in a code's random part of the first character Luhn doubles (the last
# character of the payload is doubled).
_FIRST_DOUBLED = (RANDOM_WIDTH - 1) % 2


def _prefix_sum(prefix: str) -> int:
    """The prefix's part of the Luhn sum: its positions counted after the random part."""
    total = 0
    for index, char in enumerate(prefix):
        position = len(prefix) - 1 - index + RANDOM_WIDTH  # from the right, 0 is doubled
        addend = (2 if position % 2 == 0 else 1) * VALUE[char]
        total += addend // BASE + addend % BASE
    return total


def new_codes(prefix: str, count: int) -> list[str]:
    """``count`` new codes of a merchant: ``prefix``, 13 random characters, check character."""
    width = RANDOM_WIDTH
    raw = secrets.token_bytes(count * width)
    text = raw.translate(_CHARACTER).decode("ascii")
    doubled, single = raw.translate(_DOUBLED), raw.translate(_SINGLE)
    base = _prefix_sum(prefix)
    first, second = _FIRST_DOUBLED, 1 - _FIRST_DOUBLED
    return [
        prefix
        + text[start : start + width]
        + ALPHABET[
            -(
                base
                + sum(doubled[start + first : start + width : 2])
                + sum(single[start + second : start + width : 2])
            )
            % BASE
        ]
        for start in range(0, count * width, width)
    ]


def copy_text(prefix: str, batch_id: int, start: int, end: int) -> str:
    """Serials ``start … end - 1`` of a batch as COPY text rows: code, batch id, serial.

    Each code gets its serial first, then the rows go in the order of their codes (a
    row starts with its code): the primary key's index then takes a chunk's entries
    leaf after leaf instead of at random. Once that index outgrows the database's
    buffers (about 2,500,000 codes in a merchant), random inserts read and evict a page
    each; in order, with chunks of ``CHUNK_SIZE``, a 10,000,000-code batch cost the
    database 38% less CPU (docs/benchmarks.md). Which code has which serial stays
    random; the ``(batch, serial)`` index, no longer filled in order, takes 10 more
    bytes a code.
    """
    rows = [
        f"{code}\t{batch_id}\t{serial}\n"
        for serial, code in enumerate(new_codes(prefix, end - start), start)
    ]
    rows.sort()
    return "".join(rows)


def _copy_chunk(prefix: str, batch_id: int, start: int, end: int) -> None:
    # One write of the whole chunk: psycopg's per-row formatting cost more than the codes.
    copy_sql = "COPY campaigns_code (code, batch_id, serial) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
        copy.write(copy_text(prefix, batch_id, start, end))


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
