"""Code imports (码包导入) at the service level: check the whole file, write it whole or not.

Each test runs the import's task body (``importing.run_import``) in the test's
transaction; the real worker's run is in test_code_imports_worker.py.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable, Iterator

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django_tenants.utils import tenant_context
from graphql_relay import from_global_id, to_global_id
from openpyxl import Workbook

from accounts.models import User
from campaigns.exports import render
from campaigns.exports import service as export_service
from campaigns.models import (
    BatchExport,
    BatchStatus,
    Campaign,
    CampaignStatus,
    Code,
    CodeImport,
    CodeLabel,
    ExportFormat,
    ExportStatus,
    ImportFormat,
    ImportLayout,
    ImportRefusal,
    ImportStatus,
    RefusalReason,
)
from campaigns.models.prizes import TierTerms
from campaigns.prizes.services import set_prize_table
from campaigns.scan import codes, importing, imports, routing
from campaigns.scan.claims import claim_code
from campaigns.scan.entropy import MIN_BITS_PER_CODE, EntropyMeter
from campaigns.scan.preview import ScanStatus, preview_code
from campaigns.scan.services import create_scan_campaign, reserve_left
from campaigns.services import set_status
from campaigns.tests.test_merchant_campaigns import call
from core.db import connection
from core.errors import DomainError
from tenants.models import CodeRoute, Merchant, route_key
from tests.fixtures.api import Api
from tests.fixtures.tenants import Tenants, fund

pytestmark = pytest.mark.django_db

DIGITS = "0123456789"


def printer_codes(count: int, width: int = 20, alphabet: str = DIGITS) -> list[str]:
    """Random codes as a printer makes them: ``width`` characters of ``alphabet``."""
    return ["".join(secrets.choice(alphabet) for _ in range(width)) for _ in range(count)]


@pytest.fixture
def acme(tenants: Tenants, unique: Callable[[str], str]) -> Iterator[Tenants]:
    for merchant in (tenants.acme, tenants.beta):
        fund(merchant, 1_000_000, unique)
    with tenant_context(tenants.acme):
        yield tenants


def _campaign() -> Campaign:
    campaign = create_scan_campaign(name="Printer caps")
    set_status(connection.tenant, campaign, CampaignStatus.ACTIVE)
    return campaign


def run(
    campaign: Campaign,
    content: bytes,
    *,
    layout: str = ImportLayout.CODES,
    file_format: str = ImportFormat.CSV,
    points: int = 5,
    **kwargs: object,
) -> CodeImport:
    code_import = imports.request_import(
        connection.tenant,
        campaign,
        layout=layout,
        file_format=file_format,
        points_per_code=points,
        name="Printer run 7",
        sku="TEA-500",
        **kwargs,  # type: ignore[arg-type]
    )
    imports.receive_file(code_import, ContentFile(content, name="codes"))
    return importing.run_import(code_import.pk)


def csv_of(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def refusals(code_import: CodeImport) -> list[tuple[int, str, int | None]]:
    return list(
        ImportRefusal.objects.filter(code_import=code_import)
        .order_by("line")
        .values_list("line", "reason", "first_line")
    )


# --- Entropy ----------------------------------------------------------------------


def test_entropy_tells_sequential_from_random_codes_on_a_bounded_sample() -> None:
    def bits(codes_: list[str]) -> float:
        meter = EntropyMeter(sample_size=4096, seed=7)
        for start in range(0, len(codes_), 1000):
            meter.add(codes_[start : start + 1000])
        assert meter.count == len(codes_) and len(meter.sample) == min(4096, len(codes_))
        return meter.bits_per_code()

    sequential = [f"TEA{serial:012d}" for serial in range(50_000)]
    with_check_digits = [f"{serial:012d}{secrets.randbelow(100):02d}" for serial in range(50_000)]
    random16 = printer_codes(50_000, width=16)
    random12 = printer_codes(5_000, width=12)
    assert bits(sequential) < 20  # about log2(50,000) = 15.6: each code names its neighbours
    assert bits(with_check_digits) < 30
    assert bits(random12) < MIN_BITS_PER_CODE  # 39.9 bits: too few
    assert 50 < bits(random16) < 56  # 16 random digits: 53.2 bits
    ours = [codes.new_code("00A1") for _ in range(2000)]
    assert bits(ours) > 60  # 65 random bits and a check character


# --- Refusals: nothing half-imported ------------------------------------------------


def test_ten_duplicate_and_ten_malformed_lines_import_nothing_and_report_exactly_them(
    acme: Tenants, client: Client
) -> None:
    campaign = _campaign()
    good = printer_codes(200)
    lines = list(good)
    malformed = ["SHORT", "ABC$12345678", "x" * 40, "12 34", "中文编码一二三四五六", "#", "1.5e9"]
    malformed += ["!" * 12, "AB-CD", "?" * 9]
    # Ten lines repeating earlier ones (one of them written differently: case, hyphens).
    duplicates = [good[index] for index in range(0, 90, 10)] + [
        "-".join([good[95][:10], good[95][10:]])
    ]
    for offset, text in enumerate(malformed):
        lines.insert(20 * offset + 5, text)
    lines += duplicates
    code_import = run(campaign, csv_of(lines))

    assert code_import.status == ImportStatus.REFUSED
    assert code_import.failure_code == "IMPORT_LINES_REFUSED"
    found = refusals(code_import)
    assert len(found) == 20
    assert [r for r in found if r[1] == RefusalReason.MALFORMED] == [
        (lines.index(text) + 1, RefusalReason.MALFORMED, None) for text in malformed
    ]
    repeated = [(line, first) for line, reason, first in found if reason != "MALFORMED"]
    assert [first for _line, first in repeated] == [
        lines.index(good[index]) + 1 for index in [*range(0, 90, 10), 95]
    ]
    assert (code_import.accepted, code_import.refused) == (200, 20)
    # Nothing written: no batch, no code, no route, no staging left.
    assert code_import.batch is None and not campaign.batches.exists()
    assert not Code.objects.exists()
    assert not CodeRoute.objects.filter(key__in=[route_key(c) for c in good]).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM campaigns_importline")
        assert cursor.fetchone() == (0,)

    # The report: the same twenty lines, with their reasons in the merchant's language.
    path = imports.report_path(code_import)
    assert path is not None
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    text = response.getvalue().decode("utf-8-sig")
    rows = text.strip().splitlines()
    assert len(rows) == 21 and rows[1].startswith(f"{lines.index(malformed[0]) + 1},MALFORMED,")


def test_a_low_entropy_file_is_refused_whole(acme: Tenants) -> None:
    campaign = _campaign()
    sequential = [f"TEA2026{serial:08d}" for serial in range(3000)]
    code_import = run(campaign, csv_of(sequential))
    assert code_import.status == ImportStatus.REFUSED
    assert code_import.failure_code == "IMPORT_LOW_ENTROPY"
    assert code_import.bits_per_code is not None
    assert code_import.bits_per_code < MIN_BITS_PER_CODE
    assert (code_import.accepted, code_import.refused) == (3000, 0)
    assert not Code.objects.exists() and not campaign.batches.exists()


def test_a_code_that_exists_anywhere_is_refused(acme: Tenants) -> None:
    campaign = _campaign()
    theirs = printer_codes(50)
    with tenant_context(acme.beta):
        beta_import = run(_campaign(), csv_of(theirs))
        assert beta_import.status == ImportStatus.IMPORTED
        beta_prefix = codes.encode_merchant(acme.beta.pk)
        beta_own = codes.new_code(beta_prefix)  # reads as beta's: routed by its prefix
    ours = printer_codes(60)
    lines = [*ours[:30], theirs[7], *ours[30:], beta_own]
    code_import = run(campaign, csv_of(lines))
    assert refusals(code_import) == [
        (31, RefusalReason.ALREADY_EXISTS, None),
        (62, RefusalReason.OUR_FORMAT, None),
    ]
    assert not Code.objects.exists()


def test_a_file_whose_only_faults_are_duplicates_is_refused_by_the_write_and_reported(
    acme: Tenants, caplog: pytest.LogCaptureFixture
) -> None:
    """No line refused by the check: the write runs, meets the duplicates on the codes' and
    the routing table's keys, writes nothing, and the duplicates are reported after all
    (decision 0332)."""
    campaign = _campaign()
    earlier = run(campaign, csv_of(printer_codes(50)))
    assert earlier.status == ImportStatus.IMPORTED and earlier.batch is not None
    mine = earlier.batch.codes.order_by("serial").values_list("code", flat=True)[3]
    theirs = printer_codes(50)
    with tenant_context(acme.beta):
        assert run(_campaign(), csv_of(theirs)).status == ImportStatus.IMPORTED
    new = printer_codes(60)
    lines = [*new[:20], theirs[7], *new[20:40], new[5], *new[40:], mine]
    with caplog.at_level("INFO", logger="campaigns.scan.importing"):
        code_import = run(campaign, csv_of(lines))

    assert "met a duplicate code" in caplog.text  # the write found them, not a search
    assert code_import.status == ImportStatus.REFUSED
    assert code_import.failure_code == "IMPORT_LINES_REFUSED"
    assert refusals(code_import) == [
        (21, RefusalReason.ALREADY_EXISTS, None),
        (42, RefusalReason.DUPLICATE_IN_FILE, 6),
        (63, RefusalReason.ALREADY_EXISTS, None),
    ]
    assert (code_import.accepted, code_import.refused) == (60, 3)
    # Nothing written: the earlier batch alone, its codes and its reserve as they were.
    assert list(campaign.batches.all()) == [earlier.batch]
    assert not Code.objects.filter(code__in=new).exists()
    assert not CodeRoute.objects.filter(key__in=[route_key(c) for c in new]).exists()
    assert reserve_left(acme.acme, earlier.batch) == 50 * 5
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM campaigns_importline")
        assert cursor.fetchone() == (0,)


# --- Imported, then claimed like a generated batch -----------------------------------


def test_an_imported_batch_is_funded_routed_and_claimed_like_a_generated_one(
    acme: Tenants, consumer: User
) -> None:
    campaign = _campaign()
    printed = printer_codes(300, width=16, alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    lines = ["code", *[printed[i].lower() if i % 2 else printed[i] for i in range(300)], "", ""]
    code_import = run(campaign, csv_of(lines), has_header=True, points=7)
    assert code_import.status == ImportStatus.IMPORTED, code_import.failure_reason
    assert (code_import.accepted, code_import.refused, code_import.empty_lines) == (300, 0, 2)
    batch = code_import.batch
    assert batch is not None
    assert (batch.status, batch.size, batch.generated) == (BatchStatus.READY, 300, 300)
    assert (batch.name, batch.sku, batch.points_per_code) == ("Printer run 7", "TEA-500", 7)
    assert reserve_left(acme.acme, batch) == 300 * 7
    # Serials in the file's order, codes normalised as typed codes are.
    assert list(batch.codes.order_by("serial").values_list("code", flat=True)) == printed
    assert routing.route(printed[3].lower()).merchant_id == acme.acme.pk

    # Scanned from anywhere: the routing table finds the merchant, the claim pays.
    with tenant_context(acme.beta):
        preview = preview_code(printed[5])
        result = claim_code(consumer, f"{printed[5][:8]}-{printed[5][8:]}", "import-claim-1")
    assert preview.status == ScanStatus.CLAIMABLE and preview.points == 7
    assert result.merchant.pk == acme.acme.pk and result.claim.points == 7
    assert reserve_left(acme.acme, batch) == 299 * 7
    with pytest.raises(DomainError) as exc:
        claim_code(consumer, printed[5], "import-claim-2")
    assert exc.value.code == "ALREADY_CLAIMED"
    with pytest.raises(DomainError) as exc:
        claim_code(consumer, "9" * 16, "import-claim-3")  # imported shape, no such code
    assert exc.value.code == "MALFORMED_CODE"


def test_a_file_checked_in_many_chunks_keeps_its_serials_and_counts(
    acme: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 7 lines, each streamed to the staging COPY 3 lines at a time: the serials
    are the accepted lines' ranks across the chunks, the counts those of the whole file."""
    monkeypatch.setattr(importing, "CHUNK_LINES", 7)
    monkeypatch.setattr(importing, "SEND_LINES", 3)
    printed = printer_codes(100)
    lines = ["code", *printed[:13], "", *printed[13:14], "", "", *printed[14:], ""]
    code_import = run(_campaign(), csv_of(lines), has_header=True)
    assert code_import.status == ImportStatus.IMPORTED, code_import.failure_reason
    assert (code_import.accepted, code_import.refused, code_import.empty_lines) == (100, 0, 4)
    assert code_import.lines_read == len(lines)
    assert code_import.batch is not None
    serials = code_import.batch.codes.order_by("serial").values_list("serial", "code")
    assert list(serials) == list(enumerate(printed))


def test_xlsx_with_code_box_and_serial(acme: Tenants) -> None:
    campaign = _campaign()
    printed = printer_codes(40)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["码", "箱码", "序号"])
    for index, code in enumerate(printed):
        sheet.append([code, f"BOX-{index // 10}", index + 1])
    sheet.append([12345678901234567890, "BOX-X", 99])  # a number that lost its digits
    buffer = io.BytesIO()
    workbook.save(buffer)
    code_import = run(
        campaign,
        buffer.getvalue(),
        layout=ImportLayout.CODE_BOX_SERIAL,
        file_format=ImportFormat.XLSX,
        has_header=True,
    )
    assert refusals(code_import) == [(42, RefusalReason.MALFORMED, None)]
    code_import = run(
        campaign,
        buffer.getvalue()[:0] + _xlsx(printed, with_boxes=True),
        layout=ImportLayout.CODE_BOX_SERIAL,
        file_format=ImportFormat.XLSX,
    )
    assert code_import.status == ImportStatus.IMPORTED, code_import.failure_reason
    label = CodeLabel.objects.get(code=printed[13])
    assert (label.box_code, label.printer_serial) == ("BOX-1", "14")


def _xlsx(printed: list[str], *, with_boxes: bool) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for index, code in enumerate(printed):
        sheet.append([code, f"BOX-{index // 10}", index + 1] if with_boxes else [code])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_brand_urls_give_their_codes(acme: Tenants) -> None:
    campaign = _campaign()
    printed = printer_codes(30)
    lines = [f"https://tea.example.cn/v?c={code}&from=label" for code in printed]
    lines[4] = "https://other.example.cn/v?c=12345678901234567890&from=label"
    with pytest.raises(DomainError) as exc:
        imports.request_import(
            connection.tenant,
            campaign,
            layout=ImportLayout.URLS,
            file_format=ImportFormat.CSV,
            points_per_code=1,
            url_pattern="tea.example.cn/v?c=",
        )
    assert exc.value.code == "INVALID_URL_PATTERN"
    pattern = "https://tea.example.cn/v?c={code}&from=label"
    refused = run(campaign, csv_of(lines), layout=ImportLayout.URLS, url_pattern=pattern)
    assert refusals(refused) == [(5, RefusalReason.NO_CODE_IN_URL, None)]
    lines[4] = f"HTTP://TEA.example.cn/v?c={printer_codes(1)[0]}&from=label"
    done = run(campaign, csv_of(lines), layout=ImportLayout.URLS, url_pattern=pattern)
    assert done.status == ImportStatus.IMPORTED and done.accepted == 30
    assert Code.objects.filter(code=printed[9], batch=done.batch).exists()


def test_too_small_a_budget_writes_nothing(acme: Tenants) -> None:
    campaign = _campaign()
    printed = printer_codes(100)
    code_import = run(campaign, csv_of(printed), points=1_000_000)
    assert code_import.status == ImportStatus.FAILED
    assert code_import.failure_code == "INSUFFICIENT_BUDGET"
    assert not Code.objects.exists() and not campaign.batches.exists()
    assert not CodeRoute.objects.filter(key=route_key(printed[0])).exists()
    # The merchant funds more and imports the same file: it goes in.
    again = run(campaign, csv_of(printed), points=1)
    assert again.status == ImportStatus.IMPORTED


def test_a_prize_campaign_takes_no_import_before_or_after_its_table(acme: Tenants) -> None:
    """A prize campaign's codes are only generated (decision 0219 addendum): an import is
    refused when asked for, and one asked for before the table was set is refused when
    it runs, writing nothing."""
    tiers = [TierTerms("一等奖", 5, 1, 1), TierTerms("谢谢参与", 0, 1, None)]
    prize = create_scan_campaign(name="再来一瓶")
    set_prize_table(prize, tiers)
    with pytest.raises(DomainError) as refused:
        run(prize, csv_of(printer_codes(10)))
    assert refused.value.code == "WRONG_CAMPAIGN_KIND"
    assert not CodeImport.objects.filter(campaign=prize).exists()

    draft = create_scan_campaign(name="Printer caps, soon a draw")
    code_import = imports.request_import(
        connection.tenant,
        draft,
        layout=ImportLayout.CODES,
        file_format=ImportFormat.CSV,
        points_per_code=5,
    )
    set_prize_table(draft, tiers)
    imports.receive_file(code_import, ContentFile(csv_of(printer_codes(10)), name="codes"))
    code_import = importing.run_import(code_import.pk)
    assert (code_import.status, code_import.failure_code) == (
        ImportStatus.FAILED,
        "WRONG_CAMPAIGN_KIND",
    )
    assert not draft.batches.exists() and not Code.objects.exists()


def test_the_upload_link_takes_the_file_once(acme: Tenants, client: Client) -> None:
    campaign = _campaign()
    code_import = imports.request_import(
        connection.tenant,
        campaign,
        layout=ImportLayout.CODES,
        file_format=ImportFormat.CSV,
        points_per_code=1,
    )
    path = imports.upload_path(code_import)
    body = csv_of(printer_codes(20))
    assert client.post(path, {}).status_code == 400
    assert (
        client.post(
            path.replace("/file", "x/file"), {"file": ContentFile(body, name="c.csv")}
        ).status_code
        == 403
    )
    assert client.get(path).status_code == 405
    answer = client.post(path, {"file": ContentFile(body, name="c.csv")})
    assert answer.status_code == 202, answer.content
    again = client.post(path, {"file": ContentFile(body, name="c.csv")})
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "IMPORT_NOT_UPLOADING"
    code_import.refresh_from_db()
    assert code_import.status in (ImportStatus.VALIDATING, ImportStatus.IMPORTED)


def test_merchant_without_schema_name_is_not_found(client: Client) -> None:
    token = imports.UPLOAD_LINK.token("no_such_schema", 1)
    response = client.post(f"/code-imports/{token}/file", {})
    assert response.status_code == 404
    assert Merchant.objects.filter(schema_name="no_such_schema").count() == 0


# --- Merchant API ---------------------------------------------------------------------


def test_the_merchant_api_starts_an_import_and_follows_it_to_its_report(
    acme: Tenants, merchant_api: Api, client: Client
) -> None:
    campaign = _campaign()
    campaign_id = to_global_id("Campaign", f"{acme.acme.pk}:{campaign.pk}")
    viewer = call(
        merchant_api,
        acme.acme_viewer,
        "CreateCodeImport",
        campaignId=campaign_id,
        layout="CODES",
        format="CSV",
        pointsPerCode=2,
    )
    assert viewer["errors"][0]["code"] == "PERMISSION_DENIED"
    bad = call(
        merchant_api,
        acme.acme_operator,
        "CreateCodeImport",
        campaignId=campaign_id,
        layout="URLS",
        format="CSV",
        pointsPerCode=2,
        urlPattern="https://tea.example.cn/v",
    )
    assert [(e["field"], e["code"]) for e in bad["errors"]] == [
        ("urlPattern", "INVALID_URL_PATTERN")
    ]
    created = call(
        merchant_api,
        acme.acme_operator,
        "CreateCodeImport",
        campaignId=campaign_id,
        layout="CODES",
        format="CSV",
        pointsPerCode=2,
        name="Printer run 8",
    )
    assert created["errors"] == []
    started = created["codeImport"]
    assert started["status"] == "UPLOADING" and started["uploadUrl"].startswith("http")
    lines = [*printer_codes(30), "nope", "ALSO BAD!"]
    upload = client.post(
        started["uploadUrl"], {"file": ContentFile(csv_of(lines), name="codes.csv")}
    )
    assert upload.status_code == 202
    pk = int(from_global_id(started["id"])[1].split(":")[1])
    with tenant_context(acme.acme):  # the requests above left the connection on public
        importing.run_import(pk)

    seen = call(merchant_api, acme.acme_operator, "CodeImport", id=started["id"])
    assert (seen["status"], seen["accepted"], seen["refused"], seen["linesRead"]) == (
        "REFUSED",
        30,
        2,
        32,
    )
    assert seen["failureCode"] == "IMPORT_LINES_REFUSED" and seen["uploadUrl"] is None
    report = client.get(seen["reportUrl"])
    assert report.status_code == 200
    assert call(merchant_api, acme.acme_viewer, "CodeImport", id=started["id"])["reportUrl"] is None
    listed = call(merchant_api, acme.acme_viewer, "CodeImports", campaignId=campaign_id)
    assert [edge["node"]["id"] for edge in listed["edges"]] == [started["id"]]


def test_the_scan_page_opens_for_an_imported_code_and_not_for_garbage(client: Client) -> None:
    printed = "1234 5678 9012 3456 7890"
    page = client.get(f"/s/{printed}")
    assert page.status_code == 200
    assert "1234-5678-9012-3456-7890" in page.content.decode()  # shown by fours
    assert client.get("/s/SHORT").status_code == 404
    assert client.get("/s/" + "9" * 40).status_code == 404


def test_an_imported_batch_exports_like_a_generated_one(acme: Tenants) -> None:
    campaign = _campaign()
    printed = printer_codes(12, width=24)
    done = run(campaign, csv_of(printed))
    assert done.batch is not None
    for fmt in (ExportFormat.CSV, ExportFormat.PDF):
        export = render.run_export(export_service.request_export(done.batch, fmt).pk)
        assert export.status == ExportStatus.READY, export.error
        assert export.progress == 12
    with default_storage.open(BatchExport.objects.filter(format="csv").get().file_name) as file:
        text = file.read().decode("utf-8-sig")
    assert all(f"/s/{code}" in text for code in printed)
