"""One merchant moved alone between two real databases (``manage.py move_merchant``).

The source is the test database; the target is a second database on the same server,
migrated by ``manage.py migrate`` and holding a merchant and consumers of its own, one
of them the same person (same phone) as a consumer of the moved merchant. The export
runs here, the load and ``ledger_check`` run as processes on the target. Afterwards:
both ledgers are clean, the moved merchant's schema rows and balances are in the target
under the target's user ids, each consumer's points of that merchant left the source
wallet and arrived in the target wallet, and the target's own merchant is untouched.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum

from accounts.models import WeChatIdentity
from campaigns.scan.claims import claim_code
from core.errors import DomainError
from points import ledger
from points.audit import audit
from points.models import Account, Lot
from tenants.models import Membership, Merchant, MerchantStatus, Role
from tests.fixtures.activity import consumer, mall_product, merchant_with_activity
from tests.fixtures.processes import ROOT, child_env, database_url
from tests.fixtures.tenants import staff_user

pytestmark = pytest.mark.usefixtures("committed_db")

WECHAT_APP = "wx-move-test"


def _base_name() -> str:
    from core.db import connection

    return str(connection.settings_dict["NAME"]).removeprefix("test_")


def _admin_url() -> str:
    return database_url("postgres")


def _recreate(name: str) -> None:
    with psycopg.connect(_admin_url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def _drop(name: str) -> None:
    with psycopg.connect(_admin_url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(database: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``manage.py`` as a process on ``database``."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_env(DATABASE_URL=database_url(database)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and done.returncode != 0:
        pytest.fail(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


# The target's own life before the move: a merchant, and a consumer who is also a
# consumer of the merchant that moves (the same phone), with points of the target's.
TARGET_SEED = """
import sys
from django.db import connection
# Each database gives merchant ids from its own range (docs/operations.md).
connection.cursor().execute("ALTER SEQUENCE tenants_merchant_id_seq RESTART WITH 100000")
from tests.fixtures.activity import consumer, mall_product, merchant_with_activity
shared = consumer(sys.argv[1])
merchant_with_activity("resident", [shared, consumer()], mall_product())
"""


def _query(database: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url(database)) as conn:
        return conn.execute(sql, params).fetchall()


def _schema_counts(database: str, schema: str) -> dict[str, int]:
    tables = [
        t
        for (t,) in _query(
            database,
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1",
            [schema],
        )
    ]
    return {
        t: _query(database, f'SELECT COUNT(*) FROM "{schema}"."{t}"')[0][0]
        for t in tables
        if t not in ("django_migrations", "django_content_type")
    }


def _balances(database: str, slug: str) -> dict[str, int]:
    """The merchant's budget and reserves by kind and ref."""
    rows = _query(
        database,
        """SELECT a.kind || ':' || a.ref, a.balance FROM points_account a
           JOIN tenants_merchant m ON m.id = a.merchant_id WHERE m.slug = %s""",
        [slug],
    )
    return dict(rows)


def _wallet(database: str, phone: str | None) -> int:
    rows = _query(
        database,
        """SELECT a.balance FROM points_account a JOIN accounts_user u ON u.id = a.consumer_id
           WHERE u.phone = %s AND a.kind = 'consumer_wallet'""",
        [phone],
    )
    return rows[0][0] if rows else 0


@pytest.fixture
def target() -> Iterator[str]:
    name = f"{_base_name()}_move_target"
    _recreate(name)
    manage(name, "migrate", "-v0")
    yield name
    _drop(name)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return tmp_path / "archive"


def test_one_merchant_moves_with_its_points_and_nothing_else(
    target: str, archive: Path, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    owner = staff_user(f"{unique('owner')}@move.test")
    shared, alone, lapsed = consumer(new_phone()), consumer(new_phone()), consumer(new_phone())
    WeChatIdentity.objects.create(user=alone, app_id=WECHAT_APP, openid=unique("openid"))
    product = mall_product()
    moving = merchant_with_activity(
        unique("mover"), [shared, alone, lapsed], product, owner=owner
    ).merchant
    Membership.objects.create(merchant=moving, user=staff_user("admin@move.test"), role=Role.ADMIN)
    # Another merchant of the source, sharing a consumer: stays, untouched.
    staying = merchant_with_activity(
        unique("stays"), [shared, consumer(new_phone())], product, orders=False
    ).merchant
    slug = moving.slug
    manage(target, "shell", "-c", TARGET_SEED.replace("sys.argv[1]", repr(shared.phone)))

    # What must arrive, and what the target holds already.
    expected_rows = _schema_counts(_base_name_test(), moving.schema_name)
    expected_balances = _balances(_base_name_test(), slug)
    own_points: dict[str | None, int] = {
        c.phone: Lot.objects.filter(consumer=c, merchant=moving).aggregate(s=Sum("remaining"))["s"]
        or 0
        for c in (shared, alone, lapsed)
    }
    assert own_points[shared.phone] > 0 and own_points[lapsed.phone] == 0
    source_wallets = {c.phone: ledger.balance_of(ledger.wallet(c.pk)) for c in (shared, alone)}
    staying_before = _balances(_base_name_test(), staying.slug)
    target_before: dict[str, Any] = {
        "resident": _balances(target, "resident"),
        "rows": _schema_counts(target, "m_resident"),
        "shared": _wallet(target, shared.phone),
    }
    assert target_before["shared"] > 0

    # Bad input first: clear refusals, nothing changed.
    with pytest.raises(CommandError, match="no merchant with slug"):
        call_command("move_merchant", "export", "no-such-shop", str(archive))

    call_command("move_merchant", "export", slug, str(archive))

    # The source: clean, the merchant marked moved with nothing left, others unchanged.
    assert audit() == []
    moving.refresh_from_db()
    assert moving.status == MerchantStatus.MOVED
    assert Account.objects.filter(merchant=moving, balance__gt=0).count() == 0
    assert not Lot.objects.filter(merchant=moving, remaining__gt=0).exists()
    for c in (shared, alone):
        after = ledger.balance_of(ledger.wallet(c.pk))
        assert after == source_wallets[c.phone] - own_points[c.phone]
    assert _balances(_base_name_test(), staying.slug) == staying_before
    from django_tenants.utils import schema_exists

    assert schema_exists(moving.schema_name)  # kept as the record
    with pytest.raises(DomainError) as refused:
        claim_code(shared, _unclaimed_code(moving), "after-the-move")
    assert refused.value.code == "MERCHANT_NOT_ACTIVE"
    with pytest.raises(CommandError, match="already been moved"):
        call_command("move_merchant", "export", slug, str(archive.parent / "again"))

    # Target refusals: not migrated; a consumer who is two different users there.
    empty = f"{_base_name()}_move_empty"
    _recreate(empty)
    try:
        done = manage(empty, "move_merchant", "load", str(archive), check=False)
        assert done.returncode != 0 and "not migrated" in done.stderr, done.stderr
    finally:
        _drop(empty)
    # The merchant's id (its printed codes carry it) taken there by an application.
    squatter = (
        "from tenants.models import Merchant\n"
        f"Merchant.objects.create(pk={moving.pk}, slug='squatter', name='S', schema_name='m_sq')"
    )
    manage(target, "shell", "-c", squatter)
    done = manage(target, "move_merchant", "load", str(archive), check=False)
    assert done.returncode != 0 and "is taken in the target" in done.stderr, done.stderr
    manage(target, "shell", "-c", squatter.replace(".create(", ".filter(") + ".delete()")
    conflict_phone = alone.phone
    manage(
        target,
        "shell",
        "-c",
        "from accounts.models import WeChatIdentity\n"
        f"User.objects.create(phone={conflict_phone!r})\n"
        f"other = User.objects.create(phone={new_phone()!r})\n"
        f"WeChatIdentity.objects.create(user=other, app_id={WECHAT_APP!r}, "
        f"openid={WeChatIdentity.objects.get(user=alone).openid!r})",
    )
    done = manage(target, "move_merchant", "load", str(archive), check=False)
    assert done.returncode != 0 and "different users in the target" in done.stderr, done.stderr
    assert _query(target, "SELECT COUNT(*) FROM tenants_merchant WHERE slug = %s", [slug]) == [(0,)]
    manage(
        target,
        "shell",
        "-c",
        "from accounts.models import WeChatIdentity\n"
        f"WeChatIdentity.objects.filter(app_id={WECHAT_APP!r}).delete()",
    )

    loaded = manage(target, "move_merchant", "load", str(archive))
    assert f"loaded {slug}" in loaded.stdout
    manage(target, "ledger_check")

    # The target: every row of the schema, the balances, the points, the right people.
    assert _schema_counts(target, moving.schema_name) == expected_rows
    assert _balances(target, slug) == expected_balances
    # The same id (printed codes carry it) and status.
    assert _query(target, "SELECT id, status FROM tenants_merchant WHERE slug = %s", [slug]) == [
        (moving.pk, "active")
    ]
    assert _wallet(target, shared.phone) == target_before["shared"] + own_points[shared.phone]
    assert _wallet(target, alone.phone) == own_points[alone.phone]
    claimed_by = _query(
        target,
        f"""SELECT DISTINCT u.phone FROM "{moving.schema_name}".campaigns_claim c
            JOIN accounts_user u ON u.id = c.consumer_id ORDER BY 1""",
    )
    assert claimed_by == sorted((c.phone,) for c in (shared, alone, lapsed))
    # The codes' claimers too: a reference the database does not check (decision 0142),
    # which the catalogue does not show.
    codes_claimed_by = _query(
        target,
        f"""SELECT DISTINCT u.phone FROM "{moving.schema_name}".campaigns_code c
            JOIN accounts_user u ON u.id = c.claimed_by_id ORDER BY 1""",
    )
    assert codes_claimed_by == claimed_by
    staff = _query(
        target,
        """SELECT u.email, ms.role FROM tenants_membership ms JOIN accounts_user u
           ON u.id = ms.user_id JOIN tenants_merchant m ON m.id = ms.merchant_id
           WHERE m.slug = %s ORDER BY 1""",
        [slug],
    )
    assert staff == sorted([(owner.email, "owner"), ("admin@move.test", "admin")])
    # The shared consumer is one user in the target, with one wallet.
    assert _query(
        target, "SELECT COUNT(*) FROM accounts_user WHERE phone = %s", [shared.phone]
    ) == [(1,)]
    # The target's own merchant: not touched.
    assert _balances(target, "resident") == target_before["resident"]
    assert _schema_counts(target, "m_resident") == target_before["rows"]

    done = manage(target, "move_merchant", "load", str(archive), check=False)
    assert done.returncode != 0 and "already has a merchant" in done.stderr, done.stderr


def _base_name_test() -> str:
    from core.db import connection

    return str(connection.settings_dict["NAME"])


def _unclaimed_code(merchant: Merchant) -> str:
    from django_tenants.utils import tenant_context

    from campaigns.models import Code

    with tenant_context(merchant):
        return Code.objects.filter(claimed_at__isnull=True).values_list("code", flat=True)[0]
