"""The follow events' message URL under load: WeChat's pushes at a fixed rate (open loop).

WeChat gives a message URL 5 seconds and retries what it did not get in time; issue 21
asks for the p99 of ``/wechat/component/<app id>/messages`` at 200 events/s, and that it
never waits on a claim's lock. Each request is one ``subscribe`` from a new follower's
code, signed and AES-encrypted as WeChat sends it (prepared before the clock); the
endpoint verifies, takes the dedup key in Redis and queues the credit for the Celery
worker (gunicorn and a worker, as production). After the round, the worker's drain is
timed and the invariants are checked: every follower paid once, the ledger balanced;
then every event is delivered again (WeChat's retries) and nothing more is paid.

    uv run python bench/follow_events.py [--rate 200] [--seconds 10] [--workers 2]

Database ``BENCH_DATABASE_URL`` (default ``…/loyalty_follow_bench``), Redis
``BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/12``): both recreated and
dropped (``--keep`` leaves them). Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

COMPONENT = {
    "WECHAT_COMPONENT_APP_ID": "wxbenchcomponent01",
    "WECHAT_COMPONENT_APP_SECRET": "bench-secret",
    "WECHAT_COMPONENT_TOKEN": "bench-token",
    "WECHAT_COMPONENT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}
APP_ID = "wxbenchaccount0001"
POINTS = 5


@dataclass
class Setup:
    merchant_id: int
    schema: str
    campaign_id: int
    openids: list[str]
    scenes: list[str]
    consumer_ids: list[int]


def set_up(count: int) -> Setup:
    """A merchant with a verified service account and an active follow campaign for
    ``count`` followers; each follower a consumer whose OpenID under the app we know,
    with a code of their own (made here: no WeChat to ask)."""
    from datetime import timedelta

    from django.contrib.auth.hashers import make_password
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from accounts.models import User, WeChatIdentity
    from campaigns.models import Campaign, CampaignKind, CampaignStatus, FollowCampaign, FollowCode
    from campaigns.services import set_status
    from points import services
    from tenants.models import OfficialAccount
    from tenants.onboarding import create_merchant

    owner = User.objects.create_user("owner@bench.test", make_password(None))
    merchant = create_merchant(slug="follow-bench", name="Follow bench", owner=owner)
    services.fund_with_money(
        merchant,
        amount_minor=10_000_000,
        currency="CNY",
        rate="100",
        payment_reference="bench",
    )
    OfficialAccount.objects.create(
        merchant=merchant,
        app_id=APP_ID,
        refresh_token="never-used",
        service_type=OfficialAccount.SERVICE_ACCOUNT,
        verify_type=0,
    )
    consumers = harness.make_consumers(count, with_tokens=1)
    openids = [f"o{secrets.token_hex(13)}" for _ in range(count)]
    WeChatIdentity.objects.bulk_create(
        WeChatIdentity(user=user, app_id=APP_ID, openid=openid)
        for user, openid in zip(consumers.users, openids, strict=True)
    )
    with tenant_context(merchant):
        campaign = Campaign.objects.create(kind=CampaignKind.FOLLOW, name="关注有礼 bench")
        FollowCampaign.objects.create(
            campaign=campaign, points_per_follow=POINTS, max_rewarded_follows=count
        )
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
        later = timezone.now() + timedelta(hours=1)
        scenes = [f"c{secrets.token_urlsafe(24)}" for _ in range(count)]
        FollowCode.objects.bulk_create(
            FollowCode(
                campaign=campaign, consumer=user, scene=scene, ticket="bench", expires_at=later
            )
            for user, scene in zip(consumers.users, scenes, strict=True)
        )
    return Setup(
        merchant.pk,
        merchant.schema_name,
        campaign.pk,
        openids,
        scenes,
        [u.pk for u in consumers.users],
    )


def events(setup: Setup, start: int) -> list[tuple[bytes, str, str]]:
    """One ``subscribe`` per follower, encrypted and signed as WeChat sends it."""
    import xmltodict
    from wechatpy.crypto import WeChatCrypto

    crypto = WeChatCrypto(
        COMPONENT["WECHAT_COMPONENT_TOKEN"],
        COMPONENT["WECHAT_COMPONENT_AES_KEY"],
        COMPONENT["WECHAT_COMPONENT_APP_ID"],
    )
    prepared = []
    now = str(int(time.time()))
    for k, (openid, scene) in enumerate(zip(setup.openids, setup.scenes, strict=True)):
        xml = (
            f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{start + k}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[subscribe]]></Event>"
            f"<EventKey><![CDATA[qrscene_{scene}]]></EventKey></xml>"
        )
        nonce = secrets.token_hex(5)
        sealed = xmltodict.parse(crypto.encrypt_message(xml, nonce, now))["xml"]
        body = (
            "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
            f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>"
        ).encode()
        query = urlencode(
            {
                "timestamp": now,
                "nonce": nonce,
                "encrypt_type": "aes",
                "msg_signature": sealed["MsgSignature"],
            }
        )
        prepared.append((body, "", f"/wechat/component/{APP_ID}/messages?{query}"))
    return prepared


def credited(setup: Setup) -> tuple[int, int]:
    """(follows credited, consumers holding the points)."""
    from django.db.models import Sum
    from django_tenants.utils import schema_context

    from campaigns.models import Follow
    from points.models import Account, AccountKind

    with schema_context(setup.schema):
        follows = Follow.objects.filter(credited_at__isnull=False).count()
    paid = (
        Account.objects.filter(
            kind=AccountKind.CONSUMER_WALLET, consumer_id__in=setup.consumer_ids
        ).aggregate(total=Sum("balance"))["total"]
        or 0
    )
    return follows, paid


def drain(setup: Setup, expected: int, limit: float) -> float:
    """Seconds until ``expected`` follows are credited (or ``limit`` passed)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if credited(setup)[0] >= expected:
            break
        time.sleep(0.2)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the round")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--celery-concurrency", type=int, default=1)
    parser.add_argument("--drain-seconds", type=float, default=300.0)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/loyalty_follow_bench"
    )
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    count = max(1, int(args.rate * args.seconds))
    # Each gunicorn worker's first requests build the URL conf and the schemas (seconds):
    # a slow warm-up round of followers of their own goes first, not reported.
    warm = 10 * args.workers
    started, load_at_start = time.monotonic(), harness.load_average()
    os.environ.update(COMPONENT)
    with harness.bench_resources(url, redis_url, keep=args.keep, prefix="follow") as work:
        harness.start_django(url, redis_url, "follow-bench")
        setup = set_up(count + warm)
        print(f"set up: {count:,} followers with codes, campaign {setup.campaign_id}", flush=True)
        with (
            harness.CeleryWorker(
                url, redis_url, work / "celery.log", "follow-bench", args.celery_concurrency
            ) as worker,
            harness.Server(
                url, redis_url, args, work / "server.log", "follow-bench", eager_tasks=False
            ) as server,
        ):
            prepared = events(setup, 1_000_000_000)
            warm_up = harness.open_loop(
                server,
                [],
                5.0,
                harness.PayloadJudge("success"),
                connections=args.connections,
                paths=prepared[:warm],
            )
            print("warm-up (not reported): " + harness.describe_open_loop(warm_up, "event"))
            drain(setup, warm, args.drain_seconds)
            # The round: every other follower's subscribe once, at the fixed rate.
            round_ = harness.open_loop(
                server,
                [],
                args.rate,
                harness.PayloadJudge("success"),
                connections=args.connections,
                paths=prepared[warm:],
            )
            print(harness.describe_open_loop(round_, "event"), flush=True)
            celery_cpu = harness.cpu_seconds(worker.pids())
            took = drain(setup, count + warm, args.drain_seconds)
            celery_cpu = harness.cpu_seconds(worker.pids()) - celery_cpu
            round_.background_cpu_ms["celery"] = celery_cpu * 1000 / max(1, count)
            follows, paid = credited(setup)
            print(f"worker drained the credits in {took:.1f} s after the round", flush=True)
            # WeChat's retries: every event again, the same bytes. Nothing more is paid.
            again = harness.open_loop(
                server,
                [],
                args.rate,
                harness.PayloadJudge("success"),
                connections=args.connections,
                paths=events(setup, 1_000_000_000),
            )
            time.sleep(2)
            drain(setup, count + warm + 1, 5)
            follows_after, paid_after = credited(setup)
        print()
        print(harness.render_open_loop_table([round_], "event"))
        print()
        print("Redelivered (new signatures, the same FromUserName + CreateTime):")
        print(harness.render_open_loop_table([again], "event"))
        print()
        print(harness.machine_summary(started, load_at_start))
        checks = {
            f"every follower paid once ({follows:,} of {count + warm:,})": follows == count + warm,
            f"points paid = followers x {POINTS} ({paid:,})": paid == (count + warm) * POINTS,
            "redelivery paid nothing more": (follows_after, paid_after) == (follows, paid),
        }
        from points.audit import audit

        harness.report_invariants(checks, audit())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
