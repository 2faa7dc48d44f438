"""Scan events: recorded after each scan answers, drained once into the merchant's schema,
counted per consumer or device, and the anti-counterfeit answer built on them.

Real Redis (the stream, the dedup keys) and real PostgreSQL. Every test starts with an
empty Redis database (``cache.clear()`` in the autouse fixture), so the stream holds
only what the test queued.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import (
    Claim,
    CodeBatch,
    CodeScans,
    ScanDay,
    ScanEvent,
    ScanSource,
    SuspicionReason,
    UserAgentClass,
)
from campaigns.scan import events, history
from campaigns.scan.codes import encode_merchant, new_code
from campaigns.scan.verification import verify_code
from core.cache import redis_client
from tests.fixtures.api import Api, access_token
from tests.fixtures.concurrency import run_in_threads
from tests.fixtures.tenants import merchant_with_codes

BEIJING = "202.106.0.20"  # ip2region: 北京市, 联通
SHENZHEN = "202.96.134.133"  # 广东省深圳市, 电信
SHENZHEN_TOO = "58.60.1.1"  # 广东省深圳市 as well
PHONE = "Mozilla/5.0 (Linux; Android 10) AppleWebKit/537.36 Mobile Safari/537.36"
WECHAT = PHONE + " MicroMessenger/8.0.40"


def events_of(merchant: Any, code: str) -> list[ScanEvent]:
    with tenant_context(merchant):
        return list(ScanEvent.objects.filter(code=code).order_by("id"))


def guess(merchant: Any) -> str:
    """A well-formed code of ``merchant`` that no batch holds."""
    return new_code(encode_merchant(merchant.pk))


def scanner(ip: str = SHENZHEN, agent: str = WECHAT, consumer: int | None = None) -> Any:
    return events.Scanner(ip=ip, user_agent=agent, consumer_id=consumer)


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (WECHAT, UserAgentClass.WECHAT),
        (PHONE + " AlipayClient/10.5.0", UserAgentClass.ALIPAY),
        (PHONE, UserAgentClass.BROWSER),
        ("facebookexternalhit/1.1", UserAgentClass.CRAWLER),
        ("Mozilla/5.0 (compatible; Baiduspider/2.0)", UserAgentClass.CRAWLER),
        ("curl/8.5.0", UserAgentClass.CRAWLER),
        ("", UserAgentClass.CRAWLER),
    ],
)
def test_user_agents_are_classed(agent: str, expected: UserAgentClass) -> None:
    assert events.classify(agent) == expected


def test_twenty_scans_of_one_code_at_once_record_twenty_events_and_one_claim(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    merchant, found = merchant_with_codes(unique, size=2, points=5)
    consumers = [User.objects.get_or_create_consumer(new_phone())[0] for _ in range(20)]
    tokens = [access_token(c) for c in consumers]

    def scan(i: int) -> dict[str, Any]:
        api = Api(Client(), "/graphql/", "consumer")
        return api.op(
            "ClaimCode",
            {"code": found[0], "idempotencyKey": f"at-once-{i}"},
            token=tokens[i],
            HTTP_USER_AGENT=WECHAT,
            REMOTE_ADDR=f"202.96.134.{i + 1}",
        )

    answers = [value for _status, value in run_in_threads(20, scan)]
    won = [a for a in answers if a["data"]["claimCode"]["claim"]]
    assert len(won) == 1, answers
    assert events.drain_all() == 20
    assert events.backlog() == {"queued": 0, "pending": 0}

    recorded = events_of(merchant, found[0])
    assert len(recorded) == 20
    assert sorted(e.outcome for e in recorded) == ["already_claimed"] * 19 + ["claimed"]
    assert {e.consumer_id for e in recorded} == {c.pk for c in consumers}
    assert all(e.source == ScanSource.CLAIM and e.agent == UserAgentClass.WECHAT for e in recorded)
    with tenant_context(merchant):
        assert Claim.objects.filter(code_id=found[0]).count() == 1
        batch_id = CodeBatch.objects.get().pk
        day = ScanDay.objects.get(batch_id=batch_id)
        assert (day.scans, day.lookups, day.claims) == (20, 20, 1)
        assert CodeScans.objects.get(code=found[0]).lookups == 20
        (today,) = history.scans_per_day(7)
        assert (today.scans, today.lookups, today.claims) == (20, 20, 1)


def test_a_copied_label_scanned_far_apart_within_an_hour_is_flagged(
    committed_db: None, unique: Callable[[str], str]
) -> None:
    merchant, found = merchant_with_codes(unique, size=2, points=5)
    api = Api(Client(), "/graphql/", "consumer")
    copied, genuine = found
    # The copied label: Beijing, then Shenzhen (about 1,900 km) minutes later.
    for ip in (BEIJING, SHENZHEN):
        api.op("ScanPreview", {"code": copied}, REMOTE_ADDR=ip, HTTP_USER_AGENT=WECHAT)
    # The genuine one: twice in Shenzhen, from two networks.
    for ip in (SHENZHEN, SHENZHEN_TOO):
        api.op("ScanPreview", {"code": genuine}, REMOTE_ADDR=ip, HTTP_USER_AGENT=WECHAT)
    events.drain_all()

    with tenant_context(merchant):
        flagged = CodeScans.objects.get(code=copied)
        assert flagged.suspicion == SuspicionReason.FAR_APART
        assert 1800 < (flagged.distance_km or 0) < 2000
        assert flagged.first_region == "110100" and flagged.first_approximate
        assert CodeScans.objects.get(code=genuine).suspicion == ""
        located = ScanEvent.objects.filter(code=copied).order_by("id")
        assert [e.region for e in located] == ["110100", "440300"]

    answer = api.op(
        "VerifyCode", {"code": copied}, REMOTE_ADDR=SHENZHEN_TOO, HTTP_USER_AGENT=PHONE
    )["data"]
    check = answer["verifyCode"]
    assert check["genuine"] is True and check["warning"] == "FAR_APART"
    assert check["firstRegionName"] == "北京市" and check["firstRegionApproximate"] is True
    # Two earlier lookups and this one (another device).
    assert check["lookups"] == 3
    assert "consumer" not in str(check).lower()


def test_the_same_device_within_the_window_counts_once_and_crawlers_never(
    db: None, tenants: Any
) -> None:
    merchant = tenants.acme
    code = guess(merchant)
    first = events.record_counted(merchant.pk, code, ScanSource.PAGE, "opened", scanner())
    again = events.record_counted(merchant.pk, code, ScanSource.PREVIEW, "unknown", scanner())
    other_device = events.record_counted(
        merchant.pk, code, ScanSource.PAGE, "opened", scanner(BEIJING)
    )
    crawler = events.record_counted(
        merchant.pk, code, ScanSource.PAGE, "opened", scanner(agent="facebookexternalhit/1.1")
    )
    # The same consumer on another device within the window: not counted either.
    signed = events.record_counted(
        merchant.pk, code, ScanSource.PAGE, "opened", scanner(consumer=7)
    )
    same_person = events.record_counted(
        merchant.pk, code, ScanSource.PAGE, "opened", scanner(SHENZHEN_TOO, PHONE, consumer=7)
    )
    assert (first, again, other_device, crawler) == (True, False, True, False)
    assert (signed, same_person) == (False, False)  # the device, then the person, seen
    assert events.drain_all() == 6
    recorded = events_of(merchant, code)
    assert [e.counted for e in recorded] == [True, False, True, False, False, False]
    assert recorded[3].agent == UserAgentClass.CRAWLER
    with tenant_context(merchant):
        summary = CodeScans.objects.get(code=code)
        assert (summary.scans, summary.lookups) == (5, 2)  # the crawler is not a scan of it
        day = ScanDay.objects.get(batch_id=0)  # no such code in any batch: a guess
        assert (day.scans, day.lookups, day.crawlers) == (6, 2, 1)


def test_a_drainer_that_dies_after_reading_or_after_writing_leaves_one_row_per_scan(
    db: None, tenants: Any
) -> None:
    merchant = tenants.acme
    code = guess(merchant)
    for ip in (SHENZHEN, BEIJING, SHENZHEN_TOO):
        events.record(merchant.pk, code, ScanSource.PAGE, "opened", scanner(ip))
    assert events.flush() == 3  # in the stream now, not in a moment
    client = redis_client()

    # Died after reading, before writing: the entries stay pending, then are reclaimed.
    read = events.read(client, 2, None)
    assert len(read) == 2 and events.backlog() == {"queued": 1, "pending": 2}
    # Died after writing, before acknowledging: written once, read again, written no more.
    events.write([events._event(i, f[b"e"].decode(), f[b"c"] == b"1") for i, f in read])
    assert events.drain_all(reclaim_idle_ms=0) == 3
    assert events.backlog() == {"queued": 0, "pending": 0}
    assert len(events_of(merchant, code)) == 3
    with tenant_context(merchant):
        assert ScanDay.objects.get(batch_id=0).scans == 3  # not 5: the replay added nothing
        assert CodeScans.objects.get(code=code).scans == 3


def test_the_scan_page_records_an_opening(client: Client, tenants: Any, db: None) -> None:
    merchant = tenants.acme
    code = guess(merchant)
    assert client.get(f"/s/{code}", HTTP_USER_AGENT=WECHAT).status_code == 200
    assert events.drain_all() == 1
    (opened,) = events_of(merchant, code)
    assert (opened.source, opened.outcome, opened.counted) == (ScanSource.PAGE, "opened", True)


def test_verification_of_an_unknown_code_says_not_genuine(db: None, tenants: Any) -> None:
    answer = verify_code(guess(tenants.acme), scanner())
    assert answer.genuine is False and answer.product_name is None and answer.lookups == 0


def test_events_off_records_nothing(db: None, tenants: Any, settings: Any) -> None:
    settings.SCAN_EVENTS = False
    events.record(tenants.acme.pk, "X", ScanSource.PAGE, "opened", scanner())
    assert events.record_counted(tenants.acme.pk, "X", ScanSource.PAGE, "opened", scanner()) is None
    assert events.flush() == 0
    assert events.backlog() == {"queued": 0, "pending": 0}


def test_a_claims_request_writes_no_scan_event_to_the_database(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    """Off the claim's path: the request only queues the event (Redis); the database sees it
    when the drainer writes it. (Planted failure: writing in ``record`` fails this.)"""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    merchant, found = merchant_with_codes(unique, size=1, points=5)
    consumer = User.objects.get_or_create_consumer(new_phone())[0]
    api = Api(Client(), "/graphql/", "consumer")
    with CaptureQueriesContext(connection) as captured:
        answer = api.op(
            "ClaimCode",
            {"code": found[0], "idempotencyKey": "off-path"},
            token=access_token(consumer),
            HTTP_USER_AGENT=WECHAT,
        )
    assert answer["data"]["claimCode"]["claim"]["points"] == 5
    written = [q["sql"] for q in captured.captured_queries if "scan" in q["sql"].lower()]
    assert written == []
    assert events.backlog() == {"queued": 1, "pending": 0}
    assert events_of(merchant, found[0]) == []
    events.drain_all()
    assert [e.outcome for e in events_of(merchant, found[0])] == ["claimed"]


def test_the_verify_page_answers_genuine_unknown_and_malformed_codes(
    client: Client, tenants: Any, db: None
) -> None:
    unknown = client.get(f"/v/{guess(tenants.acme)}?lang=zh-hans", HTTP_USER_AGENT=PHONE)
    assert unknown.status_code == 200
    assert 'data-genuine="false"' in unknown.content.decode()
    assert "我们从未印制过此码" in unknown.content.decode()
    malformed = client.get("/v/NOT-A-CODE?lang=zh-hans", HTTP_USER_AGENT=PHONE)
    assert malformed.status_code == 404
    assert 'role="alert"' in malformed.content.decode()
