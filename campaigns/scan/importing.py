"""Importing a packaging printer's codes: check the whole file, then write it whole.

Run by the ``import_codes`` task in the merchant's schema, one runner at a time: the
runner holds a **lease** in the import's own row (``Lease``), claimed by a conditional
``UPDATE``, renewed inside each of its transactions and released at the end; a crashed
runner's lease expires after ``LEASE_SECONDS`` and the next runner takes the import over.
Not a session advisory lock: behind PgBouncer in transaction pooling a session is not
the runner's (decision 0300).

1. **Check** (``_check_file``): the file streams through once, chunk by chunk, in
   bounded memory. Each line is read for the import's layout (one column; code, box
   code, serial; or the brand's URL with the code inside), its code normalised like
   ours and checked for shape; the accepted lines stream to the unlogged staging table
   ``campaigns_importline`` by COPY as they are checked (PostgreSQL stores them, and
   computes their routing keys, while Python checks the next: decision 0331), the
   refused ones go to ``campaigns_importrefusal`` (the downloadable report), and a
   sample of the codes to the entropy meter. Each chunk commits with the progress and
   a heartbeat; a runner that starts again starts the check from the top.
2. **Duplicates** (``_refuse_duplicates``): two statements over the staging: lines that
   repeat an earlier line, and codes that already exist anywhere on the platform (the
   public routing table holds every imported code of every merchant; this merchant's
   own code table holds its generated codes, the only ones of ours an imported code
   can equal, see ``LineRules.code``). Run only for a file refused anyway (a refused
   line, too few bits) or after a write that met a duplicate (decision 0332): a clean
   file's duplicates are found by the write's unique keys.
3. Any refused line, or too few bits per code (``campaigns.scan.entropy``): the import is
   refused and nothing is written.
4. **Write** (``_write``): one transaction makes the batch, its codes (in code order, as
   generation writes them), their routing rows and the labels, then funds the batch
   exactly as ``create_batch`` does. A code repeated in the file or taken already (or
   meanwhile, by a concurrent import) makes it fail on the codes' or the routing
   table's key: the transaction is rolled back, the duplicates searched for and
   reported. Either every code of the file exists, funded, or none does.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from psycopg import Copy

from campaigns.error_codes import CampaignErrorCode
from campaigns.models import (
    BatchStatus,
    CodeBatch,
    CodeImport,
    ImportFormat,
    ImportLayout,
    ImportRefusal,
    ImportStatus,
    RefusalReason,
)
from campaigns.models.imports import MAX_LABEL_FIELD_LENGTH
from campaigns.scan import batches
from campaigns.scan.codes import LENGTH, CodeError, normalize, parse
from campaigns.scan.entropy import MIN_BITS_PER_CODE, EntropyMeter
from campaigns.scan.routing import IMPORTED_SHAPE, NORMALISED, OUR_SHAPE
from core.db import connection
from core.errors import DomainError
from tenants.models import Merchant
from webhooks import events, payloads
from webhooks.models import EventType

logger = logging.getLogger(__name__)

MAX_CODES_PER_FILE = 5_000_000
CHUNK_LINES = 100_000
MAX_REFUSED_TEXT = 200
# Excel keeps numbers as doubles: past 15 digits a numeric cell has lost digits.
MAX_EXACT_NUMBER = 10**15
URL_CODE = "{code}"
# A runner renews its lease at each step (a chunk of the check takes seconds, the write
# about a minute at most, holding the row all along); a crashed runner's lease is free
# again after this, before the stall sweep (tasks.resume_stalled_batches, 300 s) requeues.
LEASE_SECONDS = 120


class ImportFailed(DomainError):
    """The file as a whole cannot be imported (unreadable, too large, empty)."""


# --- One runner at a time ---------------------------------------------------------


class LeaseLost(Exception):
    """Another runner took the import over (this one's lease had expired)."""


@dataclass(frozen=True)
class Lease:
    """A runner's hold on an import, in the import's row (``lease_owner``, ``lease_until``).

    Database time throughout (``now()``), so the workers' clocks need not agree. Each
    step of the run is a transaction that starts with ``renew()``: the ``UPDATE`` both
    checks that the lease is still this runner's and locks the row until the step
    commits, so a runner taking an expired lease over waits for the step in flight, and
    the runner that lost it stops at its next step with that step rolled back.
    """

    import_id: int
    owner: str

    @classmethod
    def claim(cls, import_id: int) -> Lease | None:
        """The lease of an import still to run, if no one holds it (or theirs expired)."""
        owner = uuid.uuid4().hex
        claimed = (
            CodeImport.objects.filter(
                pk=import_id, status__in=[ImportStatus.VALIDATING, ImportStatus.WRITING]
            )
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=Now()))
            .update(lease_owner=owner, lease_until=_lease_end(), heartbeat_at=Now())
        )
        return cls(import_id, owner) if claimed else None

    def _own(self) -> QuerySet[CodeImport]:
        return CodeImport.objects.filter(pk=self.import_id, lease_owner=self.owner)

    def renew(self) -> None:
        """Extend the lease (and the heartbeat); ``LeaseLost`` if it is another's now."""
        if not self._own().update(lease_until=_lease_end(), heartbeat_at=Now()):
            raise LeaseLost(f"import {self.import_id}: lease {self.owner} was taken over")

    def release(self) -> None:
        """Give the import up, with its staged lines; nothing if it is another's now."""
        with transaction.atomic():
            if self._own().update(lease_owner="", lease_until=None):
                with connection.cursor() as cursor:
                    cursor.execute(
                        "DELETE FROM campaigns_importline WHERE import_id = %s", [self.import_id]
                    )


def _lease_end() -> CombinedExpression:
    return Now() + timedelta(seconds=LEASE_SECONDS)


def _save(code_import: CodeImport, lease: Lease, *fields: str) -> None:
    """Save ``fields`` of the import while the lease is still this runner's."""
    with transaction.atomic():
        lease.renew()
        code_import.save(update_fields=fields)


# --- Reading --------------------------------------------------------------------


def url_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression of a registered URL pattern: ``{code}`` where the code is.

    The scheme may be http or https, letters' case is ignored; the code is what stands
    between the fixed parts, up to the next ``/``, ``?``, ``&`` or ``#``.
    """
    before, after = pattern.split(URL_CODE)
    before = re.sub(r"^https?://", "", before, flags=re.IGNORECASE)
    return re.compile(
        r"https?://" + re.escape(before) + r"([^/?&#]+)" + re.escape(after), re.IGNORECASE
    )


def check_url_pattern(pattern: str) -> str:
    pattern = pattern.strip()
    if (
        pattern.count(URL_CODE) != 1
        or not re.match(r"https?://[^/{}\s]+", pattern, re.IGNORECASE)
        or any(char.isspace() for char in pattern)
    ):
        raise ImportFailed(
            CampaignErrorCode.INVALID_URL_PATTERN,
            _("Give the brand's URL with {code} where the code stands, e.g. %(example)s.")
            % {"example": "https://brand.example/q?c={code}"},
            "urlPattern",
        )
    return pattern


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value) if abs(value) < MAX_EXACT_NUMBER else "#NUMBER"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < MAX_EXACT_NUMBER:
            return str(int(value))
        return "#NUMBER"  # a code stored as a number that lost digits: refused as malformed
    return str(value).strip()


def read_rows(file: IO[bytes], file_format: str) -> Iterator[tuple[int, list[str]]]:
    """Each row of the file with its line number (1-based), cells stripped."""
    if file_format == ImportFormat.XLSX:
        yield from _xlsx_rows(file)
        return
    text = io.TextIOWrapper(file, encoding="utf-8-sig", errors="replace", newline="")
    reader = csv.reader(text)
    try:
        for row in reader:
            yield reader.line_num, [cell.strip() for cell in row]
    except csv.Error as exc:
        raise ImportFailed(
            CampaignErrorCode.IMPORT_UNREADABLE,
            _("The file cannot be read as CSV (line %(line)s).") % {"line": reader.line_num},
        ) from exc


def _xlsx_rows(file: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    # Read-only mode streams the sheet's XML row by row instead of loading the workbook.
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile's, KeyError, InvalidFileException…
        raise ImportFailed(
            CampaignErrorCode.IMPORT_UNREADABLE, _("The file cannot be read as XLSX.")
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), 1):
            yield number, [_cell(value) for value in row]
    finally:
        workbook.close()


@dataclass
class LineRules:
    """How a row of this import's file gives its code (and box code and serial)."""

    merchant_id: int
    layout: str
    url: re.Pattern[str] | None = None

    def read(self, cells: list[str]) -> tuple[str, str, str] | RefusalReason:
        """``(code, box code, serial)``, or the ``RefusalReason`` of the line."""
        while cells and not cells[-1]:
            cells = cells[:-1]
        if self.layout == ImportLayout.CODE_BOX_SERIAL:
            if not 1 <= len(cells) <= 3 or any(len(c) > MAX_LABEL_FIELD_LENGTH for c in cells):
                return RefusalReason.BAD_COLUMNS
            cells = cells + [""] * (3 - len(cells))
            code, box, serial = cells
        else:
            if len(cells) != 1:
                return RefusalReason.BAD_COLUMNS
            code, box, serial = cells[0], "", ""
            if self.url is not None:
                match = self.url.fullmatch(code)
                if match is None:
                    return RefusalReason.NO_CODE_IN_URL
                code = match.group(1)
        checked = self.code(code)
        return checked if isinstance(checked, RefusalReason) else (checked, box, serial)

    def code(self, raw: str) -> str | RefusalReason:
        """The normalised code, or the ``RefusalReason`` of a code that cannot be ours."""
        # Most printers' codes are already what normalising gives (upper case, no I, L, O,
        # hyphen or space): one match instead of normalising and matching; the same result
        # (NORMALISED is IMPORTED_SHAPE without the characters normalising changes).
        if NORMALISED.fullmatch(raw):
            code = raw
        else:
            code = normalize(raw)
            if IMPORTED_SHAPE.fullmatch(code) is None:
                return RefusalReason.MALFORMED
        if len(code) == LENGTH and OUR_SHAPE.fullmatch(code):
            # Our own format: routed by its first characters, and refused as a typo when
            # its check character fails, never looked up in the routing table. Only a
            # valid code naming this merchant may stay (its scan finds this schema).
            try:
                parsed = parse(code)
            except CodeError:
                return RefusalReason.OUR_FORMAT
            if parsed.merchant_id != self.merchant_id:
                return RefusalReason.OUR_FORMAT
        return code


# --- The check ------------------------------------------------------------------


# A character COPY's text format must escape (or that PostgreSQL refuses in text).
_COPY_SPECIAL = re.compile("[\\\\\t\n\r\x00]")


def _copy_text(value: str) -> str:
    """A value as a field of COPY's text format."""
    if not value or _COPY_SPECIAL.search(value) is None:
        return value  # most fields (every empty box code and serial): nothing to escape
    return (
        value.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\x00", "")
    )


# Staged lines are sent to PostgreSQL every this many lines, while the check goes on:
# the server parses and stores them (and computes their routing keys) on the other core
# as Python checks the next ones (decision 0331). About 30 kB of COPY text.
SEND_LINES = 1_000
STAGE_SQL = (
    "COPY campaigns_importline (import_id, line, serial, code, box_code, printer_serial) FROM STDIN"
)
REFUSALS_SQL = "COPY campaigns_importrefusal (code_import_id, line, reason, text) FROM STDIN"


@dataclass
class Progress:
    """Where the check is in the file, between two of its chunks."""

    read: int = 0
    done: bool = False


def _clear(code_import: CodeImport, lease: Lease) -> None:
    """Forget a previous check of this import (a runner that died mid-way)."""
    with transaction.atomic(), connection.cursor() as cursor:
        lease.renew()
        cursor.execute("DELETE FROM campaigns_importline WHERE import_id = %s", [code_import.pk])
        ImportRefusal.objects.filter(code_import=code_import).delete()


def _check_file(code_import: CodeImport, meter: EntropyMeter, lease: Lease) -> None:
    """Stage the accepted lines, record the refused ones, feed the meter; counts on the row.

    One transaction per chunk of ``CHUNK_LINES`` lines, which renews the lease, streams
    the chunk's accepted lines into the staging COPY as they are checked, then records
    its refused lines and the progress.
    """
    _clear(code_import, lease)
    code_import.accepted = code_import.refused = code_import.empty_lines = 0
    rules = LineRules(
        merchant_id=connection.tenant.pk,
        layout=code_import.layout,
        url=url_regex(code_import.url_pattern) if code_import.layout == ImportLayout.URLS else None,
    )
    progress = Progress()
    with default_storage.open(code_import.file_name, "rb") as file:
        rows = read_rows(file, code_import.file_format)
        if code_import.has_header:
            progress.read = next(rows, (0, []))[0]
        while not progress.done:
            with transaction.atomic(), connection.cursor() as cursor:
                lease.renew()
                with cursor.copy(STAGE_SQL) as copy:
                    refusals = _check_chunk(code_import, rows, rules, meter, copy, progress)
                if refusals:
                    with cursor.copy(REFUSALS_SQL) as copy:
                        copy.write("".join(refusals))
                CodeImport.objects.filter(pk=code_import.pk).update(
                    lines_read=progress.read,
                    accepted=code_import.accepted,
                    refused=code_import.refused,
                    empty_lines=code_import.empty_lines,
                )
    code_import.lines_read = progress.read


def _check_chunk(
    code_import: CodeImport,
    rows: Iterator[tuple[int, list[str]]],
    rules: LineRules,
    meter: EntropyMeter,
    copy: Copy,
    progress: Progress,
) -> list[str]:
    """Check up to ``CHUNK_LINES`` lines, writing the accepted ones to ``copy`` as it goes;
    returns the refused lines' COPY rows."""
    import_id = code_import.pk
    lines: list[str] = []
    codes: list[str] = []
    refusals: list[str] = []
    checked = 0
    for number, cells in rows:
        progress.read = number
        if not any(cells):
            code_import.empty_lines += 1
            continue
        read = rules.read(cells)
        if isinstance(read, tuple):
            code, box, serial = read
            codes.append(code)
            # The serial: this line's rank among the accepted ones (ImportLine.serial).
            lines.append(
                f"{import_id}\t{number}\t{code_import.accepted}\t{code}\t"
                f"{_copy_text(box)}\t{_copy_text(serial)}\n"
            )
            code_import.accepted += 1
            if len(lines) >= SEND_LINES:
                copy.write("".join(lines))
                lines.clear()
        else:
            text = _copy_text(",".join(cells)[:MAX_REFUSED_TEXT])
            refusals.append(f"{import_id}\t{number}\t{read}\t{text}\n")
            code_import.refused += 1
        if code_import.accepted + code_import.refused > MAX_CODES_PER_FILE:
            raise ImportFailed(
                CampaignErrorCode.IMPORT_TOO_MANY_CODES,
                _("A file holds at most %(max)s codes; split it.")
                % {"max": f"{MAX_CODES_PER_FILE:,}"},
            )
        checked += 1
        if checked >= CHUNK_LINES:
            break
    else:
        progress.done = True
    if lines:
        copy.write("".join(lines))
    meter.add(codes)
    return refusals


DUPLICATES_SQL = """
INSERT INTO campaigns_importrefusal (code_import_id, line, reason, text, first_line)
SELECT %(import)s, line, %(reason)s, code, first_line
FROM (
    SELECT line, code, min(line) OVER (PARTITION BY code) AS first_line
    FROM campaigns_importline WHERE import_id = %(import)s
) lines
WHERE line <> first_line
ON CONFLICT (code_import_id, line) DO NOTHING
"""
# Every imported code of every merchant has a routing row; of our own codes only this
# merchant's can equal an imported one (LineRules.code refuses the others' shape).
EXISTING_SQL = """
INSERT INTO campaigns_importrefusal (code_import_id, line, reason, text)
SELECT %(import)s, s.line, %(reason)s, s.code
FROM campaigns_importline s
WHERE s.import_id = %(import)s
  AND (EXISTS (SELECT 1 FROM public.tenants_coderoute r WHERE r.key = s.key)
       OR EXISTS (SELECT 1 FROM campaigns_code c WHERE c.code = s.code))
ON CONFLICT (code_import_id, line) DO NOTHING
"""


def _refuse_duplicates(code_import: CodeImport, lease: Lease) -> None:
    """Record the lines whose code repeats or exists, and count them on the import."""
    with transaction.atomic(), connection.cursor() as cursor:
        lease.renew()
        params: dict[str, int | str] = {
            "import": code_import.pk,
            "reason": RefusalReason.DUPLICATE_IN_FILE.value,
        }
        cursor.execute(DUPLICATES_SQL, params)
        moved = cursor.rowcount
        params["reason"] = RefusalReason.ALREADY_EXISTS.value
        cursor.execute(EXISTING_SQL, params)
        moved += cursor.rowcount
        if moved:
            code_import.refused += moved
            code_import.accepted -= moved
            code_import.save(update_fields=["refused", "accepted"])


# --- The write ------------------------------------------------------------------

# In code order, as generation writes them: the primary key's index fills leaf after leaf.
# Sorted bytewise (COLLATE "C", about a third of the database's C.UTF-8 sort, whose
# comparisons call strcoll): for an imported code's characters, [0-9A-Z], the two orders
# agree, and were they to differ only the locality of the inserts would suffer.
CODES_SQL = """
INSERT INTO campaigns_code (code, batch_id, serial)
SELECT code, %(batch)s, serial
FROM campaigns_importline WHERE import_id = %(import)s
ORDER BY code COLLATE "C"
"""
# A batch with hidden codes routes its codes as needing them to be claimed (decision 0314).
ROUTES_SQL = """
INSERT INTO public.tenants_coderoute (key, merchant_id, needs_hidden_code)
SELECT key, %(merchant)s, %(hidden)s
FROM campaigns_importline WHERE import_id = %(import)s
ORDER BY key
"""
LABELS_SQL = """
INSERT INTO campaigns_codelabel (code, box_code, printer_serial)
SELECT code, box_code, printer_serial FROM campaigns_importline WHERE import_id = %(import)s
"""


def _write(merchant: Merchant, code_import: CodeImport, lease: Lease) -> CodeBatch:
    """The batch, its codes, routes and labels, funded: one transaction."""
    size = code_import.accepted
    with transaction.atomic():
        lease.renew()  # and the row stays locked until the write commits
        campaign = batches.lock_campaign(code_import.campaign)
        # Again under the campaign's lock, which setPrizeTable takes too: a campaign given a
        # prize table since the import's checks refuses it (WRONG_CAMPAIGN_KIND).
        batches.check_batch(
            merchant,
            campaign,
            size=size,
            points_per_code=code_import.points_per_code,
            imported=True,
        )
        batch = CodeBatch.objects.create(
            campaign=campaign,
            name=code_import.name,
            sku=code_import.sku,
            size=size,
            points_per_code=code_import.points_per_code,
            status=BatchStatus.READY,
            generated=size,
            hidden_code=code_import.hidden_code,
            created_by=code_import.created_by,
            finished_at=timezone.now(),
        )
        params = {
            "batch": batch.pk,
            "import": code_import.pk,
            "merchant": merchant.pk,
            "hidden": code_import.hidden_code,
        }
        with connection.cursor() as cursor:
            cursor.execute(CODES_SQL, params)
            cursor.execute(ROUTES_SQL, params)
            if code_import.layout == ImportLayout.CODE_BOX_SERIAL:
                cursor.execute(LABELS_SQL, params)
        batches.fund_batch(merchant, campaign, batch)
        code_import.batch = batch
        code_import.codes_written = size
        _finish(code_import, lease, ImportStatus.IMPORTED)
        events.record(
            merchant.pk, EventType.BATCH_READY, lambda: payloads.batch_ready(merchant.pk, batch)
        )
    return batch


def _finish(
    code_import: CodeImport, lease: Lease, status: str, error: DomainError | None = None
) -> None:
    code_import.status = status
    code_import.finished_at = code_import.heartbeat_at = timezone.now()
    if error is not None:
        code_import.failure_code = str(error.code)
        code_import.failure_reason = str(error)[:500]
    _save(
        code_import,
        lease,
        "status", "finished_at", "heartbeat_at", "failure_code", "failure_reason", "batch",
        "codes_written",
    )  # fmt: skip


def run_import(import_id: int, max_attempts: int = 3) -> CodeImport:
    """Check, then write or refuse, an uploaded import; safe to call again or twice at once
    (the second runner finds the lease held and returns the import as it stands)."""
    merchant = connection.tenant
    lease = Lease.claim(import_id)
    code_import = CodeImport.objects.select_related("campaign").get(pk=import_id)
    if lease is None:
        return code_import
    try:
        _run(merchant, code_import, lease, max_attempts)
    except LeaseLost:
        # Stalled past its lease: the runner that took over does the import.
        logger.warning("import %s was taken over by another runner", import_id)
        code_import.refresh_from_db()
        return code_import
    except BaseException:
        try:
            lease.release()
        except DatabaseError:  # the connection is gone: the lease expires instead
            logger.warning("import %s: lease not released", import_id, exc_info=True)
        raise
    lease.release()
    return code_import


def _run(merchant: Merchant, code_import: CodeImport, lease: Lease, max_attempts: int) -> None:
    try:
        batches.check_batch(
            merchant,
            code_import.campaign,
            size=1,
            points_per_code=code_import.points_per_code,
            imported=True,
        )
        meter = EntropyMeter()
        _check_file(code_import, meter, lease)
        code_import.bits_per_code = meter.bits_per_code() if meter.count else None
        _save(code_import, lease, "bits_per_code", "lines_read")
        for attempt in range(max_attempts):
            # A file with no refused line goes straight to the write, whose unique keys
            # (the codes' and the routing table's) refuse any duplicate, in the file or
            # not: the duplicates are searched for only when the file is refused anyway
            # or the write met one, so that the report still lists every one of them
            # (decision 0332).
            if attempt or code_import.refused or _too_few_bits(code_import):
                _refuse_duplicates(code_import, lease)
            if code_import.refused:
                raise ImportFailed(
                    CampaignErrorCode.IMPORT_LINES_REFUSED,
                    _("%(count)s lines were refused; nothing was imported.")
                    % {"count": f"{code_import.refused:,}"},
                )
            if not code_import.accepted:
                raise ImportFailed(CampaignErrorCode.IMPORT_EMPTY, _("The file holds no code."))
            if _too_few_bits(code_import):
                raise ImportFailed(
                    CampaignErrorCode.IMPORT_LOW_ENTROPY,
                    _(
                        "These codes carry %(bits)s bits each; at least %(min)s are needed, "
                        "or they could be guessed from one another."
                    )
                    % {"bits": code_import.bits_per_code, "min": int(MIN_BITS_PER_CODE)},
                )
            batches.check_batch(
                merchant,
                code_import.campaign,
                size=code_import.accepted,
                points_per_code=code_import.points_per_code,
                imported=True,
            )
            code_import.status = ImportStatus.WRITING
            code_import.heartbeat_at = timezone.now()
            _save(code_import, lease, "status", "heartbeat_at")
            try:
                _write(merchant, code_import, lease)
                break
            except IntegrityError:
                # A code repeated in the file or already taken (before the check, or by
                # another import meanwhile): nothing was written; the next attempt
                # searches for the duplicates and reports them.
                logger.info("import %s met a duplicate code; checking again", code_import.pk)
                code_import.refresh_from_db()
        else:
            raise RuntimeError(f"import {code_import.pk} kept meeting new codes")
    except DomainError as exc:
        status = (
            ImportStatus.REFUSED
            if exc.code
            in (CampaignErrorCode.IMPORT_LINES_REFUSED, CampaignErrorCode.IMPORT_LOW_ENTROPY)
            else ImportStatus.FAILED
        )
        _finish(code_import, lease, status, exc)


def _too_few_bits(code_import: CodeImport) -> bool:
    # With hidden codes the answer needs a secret the file does not hold
    # (decision 0291): its own bits no longer decide.
    return (code_import.bits_per_code or 0) < MIN_BITS_PER_CODE and not code_import.hidden_code


def mark_failed(import_id: int, reason: str) -> None:
    CodeImport.objects.filter(
        pk=import_id, status__in=[ImportStatus.VALIDATING, ImportStatus.WRITING]
    ).update(status=ImportStatus.FAILED, failure_reason=reason[:500], finished_at=timezone.now())
