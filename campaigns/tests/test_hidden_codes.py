"""Hidden verification codes (刮开涂层): issued once by an export, stored as keyed hashes,
needed by the anti-counterfeit answer, wrong guesses limited per code and per client.

Real PostgreSQL and Redis (the limits count in the cache); every test starts with empty
counters (the autouse fixture of tests.fixtures.tenants).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp
from django.conf import settings
from django.core.files.storage import default_storage
from django.test import Client
from django_tenants.utils import tenant_context

from campaigns.exports import render as renderers
from campaigns.exports import service
from campaigns.models import (
    BatchExport,
    CampaignStatus,
    Code,
    CodeBatch,
    ExportFormat,
    ExportStatus,
    HiddenCode,
    ImportStatus,
)
from campaigns.scan import events, hidden
from campaigns.scan.codes import scan_url
from campaigns.scan.generation import generate_batch
from campaigns.scan.services import create_batch, create_scan_campaign
from campaigns.scan.verification import verify_code
from campaigns.services import set_status
from campaigns.tests.test_code_imports import csv_of, run
from core.db import connection
from core.errors import DomainError
from tenants.models import Merchant
from tests.fixtures.api import Api, streamed_body
from tests.fixtures.tenants import Tenants, fund

pytestmark = pytest.mark.django_db

SIZE = 12
PHONE = "Mozilla/5.0 (Linux; Android 10) AppleWebKit/537.36 Mobile Safari/537.36"


@pytest.fixture
def acme(tenants: Tenants, unique: Callable[[str], str]) -> Iterator[Tenants]:
    """Funded acme; the test body runs in acme's schema (in a transaction that rolls back)."""
    fund(tenants.acme, 100_000, unique)
    with tenant_context(tenants.acme):
        yield tenants
    connection.set_schema_to_public()


@pytest.fixture
def stored_files() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        if name and default_storage.exists(name):
            default_storage.delete(name)


def hidden_batch(merchant: Merchant, size: int = SIZE) -> CodeBatch:
    campaign = create_scan_campaign(name="Baijiu")
    set_status(merchant, campaign, CampaignStatus.ACTIVE)
    batch = create_batch(merchant, campaign, size=size, points_per_code=2, hidden_code=True)
    return generate_batch(batch.pk)


def issued(batch: CodeBatch) -> dict[str, str]:
    """Issue the batch's hidden codes as its CSV export does: {code: secret}."""
    out = io.BytesIO()
    issuer = hidden.Issuer()
    renderers.render_batch(batch, ExportFormat.CSV, out, hidden=issuer)
    issuer.flush()
    rows = list(csv.reader(io.StringIO(out.getvalue().decode())))
    assert rows[0] == ["code", "url", "hidden_code"]
    return {code: secret for code, _url, secret in rows[1:]}


def scanner(ip: str) -> events.Scanner:
    return events.Scanner(ip=ip, user_agent=PHONE)


def refused(code: str, given: str | None, ip: str) -> str:
    with pytest.raises(DomainError) as exc:
        verify_code(code, scanner(ip), given)
    return str(exc.value.code)


def wrong(secret: str) -> str:
    return f"{(int(secret) + 1) % 10**hidden.DIGITS:0{hidden.DIGITS}d}"


# --- Issued once, by the export -----------------------------------------------------------


def test_the_csv_export_issues_each_code_a_hidden_code_downloadable_once(
    acme: Tenants, django_capture_on_commit_callbacks: Any, stored_files: list[str]
) -> None:
    batch = hidden_batch(acme.acme)
    with django_capture_on_commit_callbacks(execute=True):
        export = service.request_export(batch, ExportFormat.CSV)
    export.refresh_from_db()
    stored_files.append(export.file_name)
    batch.refresh_from_db()
    assert export.status == ExportStatus.READY and batch.hidden_export_id == export.pk

    link = service.download_path(acme.acme.schema_name, export)
    first = Client().get(link)
    assert first.status_code == 200
    rows = list(csv.reader(io.StringIO(streamed_body(first).decode())))
    assert rows[0] == ["code", "url", "hidden_code"]
    codes = list(Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True))
    assert [row[0] for row in rows[1:]] == codes
    assert all(re.fullmatch(r"\d{8}", row[2]) for row in rows[1:])
    assert HiddenCode.objects.filter(code__in=codes).count() == SIZE

    # Shown once: the file is gone with its download; the link and the API give no more.
    assert not default_storage.exists(export.file_name)
    assert Client().get(link).status_code == 404
    assert BatchExport.objects.get(pk=export.pk).downloaded_at is not None
    assert not service.is_downloadable(BatchExport.objects.get(pk=export.pk))

    # No second export shows them: CSV and PDF are refused; a ZIP of images carries none.
    for fmt in (ExportFormat.CSV, ExportFormat.PDF):
        with pytest.raises(DomainError) as exc:
            service.request_export(batch, fmt)
        assert exc.value.code == "HIDDEN_CODES_ISSUED"
    assert BatchExport.objects.filter(batch=batch).count() == 1  # the refused rows rolled back
    with django_capture_on_commit_callbacks(execute=True):
        images = service.request_export(batch, ExportFormat.ZIP)
    images.refresh_from_db()
    stored_files.append(images.file_name)
    assert images.status == ExportStatus.READY
    assert Client().get(service.download_path(acme.acme.schema_name, images)).status_code == 200
    assert Client().get(service.download_path(acme.acme.schema_name, images)).status_code == 200


def test_a_leaked_database_does_not_reveal_or_test_the_hidden_codes(acme: Tenants) -> None:
    """What a dump holds (``HiddenCode.digest``) is neither the secret nor any unkeyed hash
    of it; only the server's key makes one from the other, and it is bound to its code."""
    batch = hidden_batch(acme.acme, size=3)
    secrets_by_code = issued(batch)
    dumped = {row.code: bytes(row.digest) for row in HiddenCode.objects.all()}
    assert set(dumped) == set(secrets_by_code)
    for code, secret in secrets_by_code.items():
        stored = dumped[code]
        assert len(stored) == 32
        assert secret.encode() not in stored and secret not in stored.hex()
        # A thief's candidate hashes of the right secret: none matches without the key.
        for unkeyed in (
            hashlib.sha256(secret.encode()).digest(),
            hashlib.sha256(f"{code}:{secret}".encode()).digest(),
            hmac.new(b"", f"{code}:{secret}".encode(), hashlib.sha256).digest(),
            hmac.new(
                settings.SECRET_KEY.encode(), f"{code}:{secret}".encode(), hashlib.sha256
            ).digest(),
        ):
            assert stored != unkeyed
        # With the key it is the secret's, and another code's digest is not.
        assert stored == hidden.digest(code, secret)
        other = next(c for c in secrets_by_code if c != code)
        assert dumped[other] != hidden.digest(other, secret) or secrets_by_code[other] == secret


def test_the_key_is_its_own_setting(acme: Tenants, settings: Any) -> None:
    """HIDDEN_CODE_KEY set: SECRET_KEY can change and the printed labels still verify."""
    settings.HIDDEN_CODE_KEY = "a-key-kept-in-the-environment"
    batch = hidden_batch(acme.acme, size=1)
    ((code, secret),) = issued(batch).items()
    settings.SECRET_KEY = "rotated-" + settings.SECRET_KEY
    assert verify_code(code, scanner("10.0.0.1"), secret).genuine
    settings.HIDDEN_CODE_KEY = "another-key"
    assert refused(code, secret, "10.0.0.2") == "HIDDEN_CODE_WRONG"


# --- Verification needs it; guesses are limited ----------------------------------------------


def test_verification_needs_the_hidden_code(acme: Tenants) -> None:
    batch = hidden_batch(acme.acme, size=2)
    (code, secret), (other, _other_secret) = issued(batch).items()
    assert refused(code, None, "10.0.1.1") == "HIDDEN_CODE_REQUIRED"
    assert refused(code, "", "10.0.1.1") == "HIDDEN_CODE_REQUIRED"
    assert refused(code, wrong(secret), "10.0.1.1") == "HIDDEN_CODE_WRONG"
    # Another code's secret is wrong here: each digest is bound to its code.
    assert refused(other, secret, "10.0.1.1") == "HIDDEN_CODE_WRONG"
    answer = verify_code(code, scanner("10.0.1.1"), f"{secret[:4]}-{secret[4:]}")
    assert answer.genuine and answer.code == code and answer.product_name == "Baijiu"

    # A batch without hidden codes is answered as before, with or without one.
    plain = create_batch(
        acme.acme, batch.campaign, size=1, points_per_code=2
    )  # same campaign, no hidden codes
    (plain_code,) = Code.objects.filter(batch=generate_batch(plain.pk)).values_list(
        "code", flat=True
    )
    assert verify_code(plain_code, scanner("10.0.1.1")).genuine


def test_wrong_guesses_are_limited_per_code(acme: Tenants) -> None:
    batch = hidden_batch(acme.acme, size=1)
    ((code, secret),) = issued(batch).items()
    # From a new address each time: the per-code limit, not the per-client one, stops them.
    for attempt in range(hidden.MAX_WRONG_PER_CODE):
        assert refused(code, wrong(secret), f"10.1.0.{attempt + 1}") == "HIDDEN_CODE_WRONG"
    assert refused(code, wrong(secret), "10.1.1.1") == "RATE_LIMITED"
    # Even the right code waits now: the eight digits cannot be walked through.
    assert refused(code, secret, "10.1.1.2") == "RATE_LIMITED"


def test_wrong_guesses_are_limited_per_client(acme: Tenants, monkeypatch: Any) -> None:
    monkeypatch.setattr(hidden, "MAX_WRONG_PER_IP", 3)
    batch = hidden_batch(acme.acme, size=5)
    pairs = list(issued(batch).items())
    for code, secret in pairs[:3]:  # one wrong guess at each of three codes
        assert refused(code, wrong(secret), "10.2.0.1") == "HIDDEN_CODE_WRONG"
    code, secret = pairs[3]
    assert refused(code, secret, "10.2.0.1") == "RATE_LIMITED"
    # Another client is not held up by them, and a right code counts nothing.
    assert verify_code(code, scanner("10.2.0.2"), secret).genuine
    last, last_secret = pairs[4]
    for _ in range(5):
        assert verify_code(last, scanner("10.2.0.3"), last_secret).genuine


def test_the_consumer_api_and_the_page_ask_for_the_hidden_code(acme: Tenants) -> None:
    batch = hidden_batch(acme.acme, size=1)
    ((code, secret),) = issued(batch).items()
    connection.set_schema_to_public()
    api = Api(Client(), "/graphql/", "consumer")
    missing = api.op("VerifyCode", {"code": code}, HTTP_USER_AGENT=PHONE, REMOTE_ADDR="10.3.0.1")
    assert missing["errors"][0]["extensions"]["code"] == "HIDDEN_CODE_REQUIRED"
    found = api.op(
        "VerifyCode",
        {"code": code, "hiddenCode": secret},
        HTTP_USER_AGENT=PHONE,
        REMOTE_ADDR="10.3.0.1",
    )
    assert found["data"]["verifyCode"]["genuine"] is True

    client = Client()
    asked = client.get(f"/v/{code}?lang=zh-hans", HTTP_USER_AGENT=PHONE, REMOTE_ADDR="10.3.0.2")
    page = asked.content.decode()
    assert asked.status_code == 200 and 'id="hidden-code-form"' in page
    assert "刮开" in page and 'data-genuine="true"' not in page
    wrong_answer = client.post(
        f"/v/{code}?lang=zh-hans",
        {"hidden_code": wrong(secret)},
        HTTP_USER_AGENT=PHONE,
        REMOTE_ADDR="10.3.0.2",
    )
    assert (
        wrong_answer.status_code == 403 and 'id="hidden-code-form"' in wrong_answer.content.decode()
    )
    right = client.post(
        f"/v/{code}?lang=zh-hans",
        {"hidden_code": secret},
        HTTP_USER_AGENT=PHONE,
        REMOTE_ADDR="10.3.0.2",
    )
    assert right.status_code == 200 and 'data-genuine="true"' in right.content.decode()


# --- Labels ------------------------------------------------------------------------------


@pytest.mark.parametrize(("stock", "columns", "rows"), [("a4", 6, 12), ("roll_30x20", None, None)])
def test_labels_print_the_hidden_code_in_its_box_and_still_scan_at_203_dpi(
    acme: Tenants, stock: str, columns: int | None, rows: int | None
) -> None:
    batch = hidden_batch(acme.acme)
    codes = list(Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True))
    grid = renderers.Grid.of(columns, rows, stock)
    issuer = hidden.Issuer()
    out = io.BytesIO()
    renderers.render_batch(batch, ExportFormat.PDF, out, grid=grid, hidden=issuer)
    issuer.flush()
    document = pdfium.PdfDocument(out.getvalue())
    assert len(document) == math.ceil(SIZE / grid.per_page)
    printed: list[str] = []
    for index in range(len(document)):
        image = document[index].render(scale=203 / 72, grayscale=True).to_pil()
        on_page = codes[index * grid.per_page : (index + 1) * grid.per_page]
        found = [result.text for result in zxingcpp.read_barcodes(image)]
        assert sorted(found) == sorted(scan_url(code) for code in on_page), f"page {index + 1}"
        printed += re.findall(r"\b\d{8}\b", document[index].get_textpage().get_text_range())
    # Each label's eight digits are the secret whose digest was stored for its code.
    assert len(printed) == SIZE
    for code, secret in zip(codes, printed, strict=True):
        assert bytes(HiddenCode.objects.get(code=code).digest) == hidden.digest(code, secret)


def test_no_other_rendering_prints_a_hidden_batch_without_its_codes(
    acme: Tenants, tmp_path: Any
) -> None:
    """The operators' command (and any caller of render_batch without an issuer) would
    print a sample in the box: refused; a ZIP of images is fine."""
    from django.core.management import CommandError, call_command

    batch = hidden_batch(acme.acme, size=2)
    for fmt in (ExportFormat.CSV, ExportFormat.PDF):
        with pytest.raises(DomainError) as exc:
            renderers.render_batch(batch, fmt, io.BytesIO())
        assert exc.value.code == "HIDDEN_CODES_ISSUED"
        with pytest.raises(CommandError, match="HIDDEN_CODES_ISSUED"):
            call_command(
                "export_batch",
                acme.acme.slug,
                str(batch.pk),
                format=str(fmt),
                output=str(tmp_path / f"out.{fmt}"),
                stderr=io.StringIO(),
            )
    assert renderers.render_batch(batch, ExportFormat.ZIP, io.BytesIO()) == 2


def test_the_label_layout_has_a_marked_box_that_is_never_dropped() -> None:
    content = renderers.LabelContent.for_batch(brand="Acme", points=5, hidden_code=True)
    smallest = renderers.LabelLayout.for_grid(renderers.Grid.of(None, None, "roll_30x20"), content)
    assert any(placed.line.hidden for placed in smallest.lines)
    plain = renderers.LabelContent.for_batch(brand="Acme", points=5)
    assert not any(line.hidden for line in plain.lines)


# --- Imports below the bits threshold -------------------------------------------------------


def test_a_guessable_file_is_accepted_when_its_batch_has_hidden_codes(acme: Tenants) -> None:
    campaign = create_scan_campaign(name="Printer's serials")
    set_status(acme.acme, campaign, CampaignStatus.ACTIVE)
    sequential = [f"TEA2026{serial:08d}" for serial in range(300)]
    refused_import = run(campaign, csv_of(sequential))
    assert refused_import.failure_code == "IMPORT_LOW_ENTROPY"
    accepted = run(campaign, csv_of(sequential), hidden_code=True)
    assert accepted.status == ImportStatus.IMPORTED, accepted.failure_reason
    assert accepted.batch is not None and accepted.batch.hidden_code
    secrets_by_code = issued(accepted.batch)
    code = sequential[7]
    assert refused(code, None, "10.4.0.1") == "HIDDEN_CODE_REQUIRED"
    assert verify_code(code, scanner("10.4.0.1"), secrets_by_code[code]).genuine
