"""One merchant moved alone to another database: its schema plus the public rows it needs.

A merchant's schema points at public rows (its staff and consumers, the ledger
transactions of its claims and responses), and public rows carry the merchant (its
domains, staff, API keys, audit events, webhook endpoints, ledger accounts and
transactions, the consumers' lots of its points, the analytics rows). ``export`` writes
all of them to a directory; ``load`` writes them into a database that holds the
platform's migrated public schema, possibly with other merchants and consumers.

The rules (docs/decisions/0179-0181):

- **Ids are never copied,** except the merchant's own: its printed codes and links carry
  it, so the load refuses a target where it is taken. Every other public row gets a new
  id in the target; users are matched by their natural keys (email, phone, WeChat
  OpenID per app): a consumer of several merchants, already in the target, is the same
  user and keeps their wallet.
  A user whose keys name two different target users, or a WeChat OpenID held by
  another user there, is a conflict and the load refuses. The schema's own rows keep
  their ids (the schema is new in the target); its columns that point at public rows
  (users, ledger transactions) are rewritten through the maps.
- **The ledger moves by replay, the consumers' points by their lots.** Each of the
  merchant's transactions is posted again in the target (``ledger.post``, same kind,
  amounts, date and idempotency key, except an expiry's), so the merchant's statement,
  its budget and reserves and its claims' transactions are all there. A consumer's
  wallet is shared by every merchant, so what moves of it is what their open lots *from
  this merchant* still hold: in the source one transaction per consumer takes exactly
  those lots out of the wallet (back to the issuance account), and in the target the
  replayed awards are netted by one transaction per consumer to the same amount, held
  by new lots with the original dates. Both ledgers balance; no point exists twice.
- **The source keeps the record.** The merchant is marked ``moved`` (nothing awards,
  its staff see only who and where), its budget and reserves are emptied to the
  issuance account, and its schema, history and archive stay until an operator drops
  them. Nothing is deleted.
- **Everything in one transaction on each side**: the export marks, posts and reads in
  one snapshot (REPEATABLE READ) and commits only once the files are written; the load
  commits all or nothing, so a failed load can simply be run again.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import ForeignKey, Model, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import User, WeChatIdentity
from analytics.models import ConsumerDay, DailyActivity, Reach, WeeklyCohort
from core.db import connection
from points import ledger
from points.ledger import Posting
from points.models import (
    PLATFORM_KINDS,
    Account,
    AccountKind,
    Entry,
    Lot,
    Transaction,
    TransactionKind,
)
from tenants import provisioning
from tenants.models import (
    APPROVED_STATUSES,
    ApiKey,
    AuditEvent,
    Domain,
    Membership,
    Merchant,
    MerchantStatus,
)
from webhooks.models import WebhookEndpoint

FORMAT = 1
# Schema tables whose rows come from the template in the target, not from the archive.
SEED_TABLES = ("django_migrations", "django_content_type")
# The merchant's own rows of the analytics summaries (platform rows, merchant null, stay).
ANALYTICS = (ConsumerDay, Reach, DailyActivity, WeeklyCohort)
MERCHANT_FIELDS = (
    "slug",
    "name",
    "status",
    "contact_email",
    "contact_phone",
    "points_expiry_days",
    "created_at",
    "about",
    "language",
    "reviewed_at",
    "review_note",
)
USER_FIELDS = ("email", "phone", "name", "password", "is_active", "date_joined", "last_login")


class MoveError(Exception):
    """The move is refused; the message says why and what to do."""


# --- Rows as JSON ---------------------------------------------------------------------


def _rows(queryset: Iterable[Model]) -> list[dict[str, Any]]:
    return [
        {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields} for obj in queryset
    ]


M = TypeVar("M", bound=Model)


def _build(model: type[M], row: dict[str, Any], **overrides: Any) -> M:
    """A new (unsaved, id-less) row of ``model`` from an exported one."""
    values = {
        f.attname: f.to_python(row[f.attname])
        for f in model._meta.concrete_fields
        if not f.primary_key and f.attname in row
    }
    values.update(overrides)
    return model(**values)


def _when(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _at(value: str) -> datetime:
    moment = parse_datetime(value)
    assert moment is not None, value
    return moment


# --- The schema's tables ----------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A column of a schema table that holds the id of a public row."""

    table: str
    column: str
    points_to: str  # "accounts_user" or "points_transaction"


def _schema_tables(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname""",
            [schema],
        )
        return [name for (name,) in cursor.fetchall() if name not in SEED_TABLES]


def _columns(schema: str, table: str) -> list[str]:
    """The columns a move copies: not the generated ones, which the target computes again
    (COPY refuses them; an import's staging has one, decision 0331)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT attname FROM pg_attribute
               WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped
                 AND attgenerated = ''
               ORDER BY attnum""",
            [f"{_q(schema)}.{_q(table)}"],
        )
        return [name for (name,) in cursor.fetchall()]


def _references(schema: str) -> list[Reference]:
    """The schema's foreign keys into public, read from the catalog (every table)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT cl.relname, a.attname, rn.nspname, rc.relname
               FROM pg_constraint con
               JOIN pg_class cl ON cl.oid = con.conrelid
               JOIN pg_namespace n ON n.oid = cl.relnamespace
               JOIN pg_class rc ON rc.oid = con.confrelid
               JOIN pg_namespace rn ON rn.oid = rc.relnamespace
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
               WHERE con.contype = 'f' AND n.nspname = %s AND rn.nspname = 'public'
               ORDER BY 1, 2""",
            [schema],
        )
        found = {Reference(table, column, target) for table, column, _ns, target in cursor}
    found |= _unchecked_references()
    unknown = {r.points_to for r in found} - {"accounts_user", "points_transaction"}
    if unknown:
        # A new tenant table pointing at another public table must be taught to the move.
        raise MoveError(f"the schema points at public tables the move does not map: {unknown}")
    return sorted(found, key=lambda r: (r.table, r.column))


def _unchecked_references() -> set[Reference]:
    """The merchant schema's foreign keys into public that the database does not check
    (decisions 0142, 0342): in no catalog, so read from the models."""
    public_apps = set(settings.SHARED_APPS) - set(settings.TENANT_APPS)
    return {
        Reference(model._meta.db_table, field.column, field.related_model._meta.db_table)
        for model in apps.get_models()
        if model._meta.app_config.name in settings.TENANT_APPS
        for field in model._meta.concrete_fields
        if isinstance(field, ForeignKey)
        and not getattr(field, "db_constraint", True)  # django-stubs leave it out
        and field.related_model._meta.app_config.name in public_apps
    }


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _tenant_migrations(schema: str) -> list[list[str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {_q(schema)}.django_migrations ORDER BY app, name")
        return [list(row) for row in cursor.fetchall()]


# --- Export -----------------------------------------------------------------------------


def export(slug: str, directory: Path, *, note: str = "") -> dict[str, Any]:
    """Mark the merchant moved, take its points out of the source ledger, write the archive.

    Returns the manifest. One REPEATABLE READ transaction: the schema's rows, the public
    rows and the balances are one snapshot, and a consumer who spends at that instant
    makes the export fail (run it again) rather than move points that were just spent.
    """
    if directory.exists() and any(directory.iterdir()):
        raise MoveError(f"{directory} is not empty: give a new directory for the archive")
    merchant = Merchant.objects.filter(slug=slug).first()
    if merchant is None:
        raise MoveError(f"no merchant with slug {slug!r}")
    if merchant.status == MerchantStatus.MOVED:
        raise MoveError(f"merchant {slug} has already been moved (its archive was written then)")
    if merchant.status not in APPROVED_STATUSES or not merchant.is_provisioned:
        raise MoveError(f"merchant {slug} is {merchant.status}: only an approved merchant moves")
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # the search path is set before the transaction begins
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return _export(merchant, directory, note)
    except BaseException as exc:
        # Nothing was committed: leave no archive that looks like one.
        for path in sorted(directory.rglob("*"), reverse=True) if directory.exists() else []:
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink()
        if isinstance(exc, OperationalError) and getattr(exc.__cause__, "sqlstate", None) in (
            "40001",
            "40P01",
        ):
            raise MoveError(
                "the merchant's data changed while it was exported (a consumer spent points "
                "at that instant); nothing was changed: run the export again"
            ) from exc
        raise


def _export(merchant: Merchant, directory: Path, note: str) -> dict[str, Any]:
    # Waits for claims in flight (they hold a key share on the row through the ledger's
    # foreign key) and makes every later claim see `moved` and refuse.
    merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
    previous_status = merchant.status
    Merchant.objects.filter(pk=merchant.pk).update(status=MerchantStatus.MOVED)
    schema = merchant.schema_name
    move_id = uuid.uuid4().hex

    # The merchant's ledger: its accounts, its transactions with their entries, the
    # accounts those entries name, and the consumers' open lots of its points.
    own_accounts = list(Account.objects.filter(merchant_id=merchant.pk).order_by("id"))
    transactions = list(Transaction.objects.filter(merchant_id=merchant.pk).order_by("id"))
    entries = defaultdict(list)
    for entry in Entry.objects.filter(transaction__merchant_id=merchant.pk).order_by("id"):
        entries[entry.transaction_id].append(entry)
    named = {e.account_id for es in entries.values() for e in es}
    accounts = {a.pk: a for a in Account.objects.filter(pk__in=named)}
    for account in accounts.values():
        movable = (
            account.kind in PLATFORM_KINDS
            or account.kind == AccountKind.CONSUMER_WALLET
            or account.merchant_id == merchant.pk
        )
        if not movable:
            raise MoveError(
                f"the merchant's transactions move points of account {account} (another "
                "merchant's): settle that transfer before moving it"
            )
    lots = list(Lot.objects.filter(merchant_id=merchant.pk, remaining__gt=0).order_by("id"))

    # Who the rows name: staff, consumers (schema columns, ledger, lots, analytics).
    references = _references(schema)
    user_ids: set[int | None] = set()
    with connection.cursor() as cursor:
        for ref in references:
            if ref.points_to == "accounts_user":
                cursor.execute(
                    f"SELECT DISTINCT {_q(ref.column)} FROM {_q(schema)}.{_q(ref.table)} "
                    f"WHERE {_q(ref.column)} IS NOT NULL"
                )
                user_ids.update(pk for (pk,) in cursor.fetchall())
    memberships = list(Membership.objects.filter(merchant_id=merchant.pk))
    api_keys = list(ApiKey.objects.filter(merchant_id=merchant.pk))
    audit = list(AuditEvent.objects.filter(merchant_id=merchant.pk).order_by("id"))
    analytics = {m._meta.label: list(m.objects.filter(merchant_id=merchant.pk)) for m in ANALYTICS}
    user_ids |= {m.user_id for m in memberships} | {m.invited_by_id for m in memberships}
    user_ids |= {k.created_by_id for k in api_keys} | {a.actor_user_id for a in audit}
    user_ids |= {t.consumer_id for t in transactions} | {lot.consumer_id for lot in lots}
    user_ids |= {a.consumer_id for a in accounts.values()}
    for rows in analytics.values():
        user_ids |= {getattr(r, "consumer_id", None) for r in rows}
    named_users = [pk for pk in user_ids if pk is not None]
    users = list(User.objects.filter(pk__in=named_users).order_by("id"))
    identities = list(WeChatIdentity.objects.filter(user_id__in=named_users))

    # Take the consumers' points of this merchant out of their wallets (exactly its
    # lots), and empty its budget and reserves, back to the issuance account.
    issuance = ledger.platform_account(AccountKind.ISSUANCE)
    by_consumer: dict[int, list[Lot]] = defaultdict(list)
    for lot in lots:
        by_consumer[lot.consumer_id].append(lot)
    meta = {"move": move_id, "direction": "out"}
    for consumer_id, own_lots in sorted(by_consumer.items()):
        points = sum(lot.remaining for lot in own_lots)
        wallet = ledger.wallet(consumer_id)

        def take(
            txn: Transaction, account: Account, amount: int, own: list[Lot] = own_lots
        ) -> None:
            ledger.take_from_lots(txn, account, -amount, lots=own)

        ledger.post(
            TransactionKind.TRANSFER,
            f"move:{move_id}:out:wallet:{consumer_id}",
            [Posting(wallet, -points), Posting(issuance, points)],
            merchant_id=merchant.pk,
            consumer_id=consumer_id,
            memo=_("Points of %(merchant)s moved with the merchant") % {"merchant": merchant.name},
            metadata=meta,
            wallet_hook=take,
        )
    balances = {a.pk: a.balance for a in own_accounts}
    held = [Posting(a, -a.balance) for a in own_accounts if a.materialized and a.balance > 0]
    if held:
        ledger.post(
            TransactionKind.TRANSFER,
            f"move:{move_id}:out:merchant",
            [*held, Posting(issuance, -sum(p.amount for p in held))],
            merchant_id=merchant.pk,
            memo=_("Budget and reserves moved with the merchant"),
            metadata=meta,
        )

    directory.mkdir(parents=True, exist_ok=True)
    tables_dir = directory / "tables"
    tables_dir.mkdir()
    tables = {}
    with connection.cursor() as cursor:
        for table in _schema_tables(schema):
            columns = _columns(schema, table)
            tables[table] = columns
            cols = ", ".join(_q(c) for c in columns)
            statement = f"COPY {_q(schema)}.{_q(table)} ({cols}) TO STDOUT"
            with open(tables_dir / f"{table}.copy", "wb") as out, cursor.copy(statement) as copy:
                for block in copy:
                    out.write(block)

    manifest = {
        "format": FORMAT,
        "move": move_id,
        "slug": merchant.slug,
        "exported_at": timezone.now(),
        "source_database": connection.settings_dict["NAME"],
        "note": note,
        "tenant_migrations": _tenant_migrations(schema),
        "tables": tables,
        "references": [[r.table, r.column, r.points_to] for r in references],
        "counts": {
            "users": len(users),
            "transactions": len(transactions),
            "lots": len(lots),
            "consumers_with_points": len(by_consumer),
            "points_of_consumers": sum(lot.remaining for lot in lots),
            "budget_and_reserves": sum(balances.values()),
        },
    }
    public = {
        "merchant": {f: getattr(merchant, f) for f in MERCHANT_FIELDS}
        | {
            "id": merchant.pk,
            "status": previous_status,
        },
        "domains": [
            {"domain": d.domain, "is_primary": d.is_primary}
            for d in Domain.objects.filter(tenant_id=merchant.pk)
        ],
        "users": _rows(users),
        "wechat_identities": _rows(identities),
        "memberships": _rows(memberships),
        "api_keys": _rows(api_keys),
        "audit_events": _rows(audit),
        "webhook_endpoints": _rows(WebhookEndpoint.objects.filter(merchant_id=merchant.pk)),
        "analytics": {label: _rows(rows) for label, rows in analytics.items()},
        "accounts": {
            str(a.pk): {
                "kind": a.kind,
                "ref": a.ref,
                "consumer": a.consumer_id,
                "own": a.merchant_id == merchant.pk,
            }
            for a in [*accounts.values(), *own_accounts]
        },
        "balances": {str(pk): balance for pk, balance in balances.items()},
        "transactions": [
            {
                "id": t.pk,
                "kind": t.kind,
                "key": t.idempotency_key,
                "consumer": t.consumer_id,
                "reverses": t.reverses_id,
                "memo": t.memo,
                "metadata": t.metadata,
                "created_at": t.created_at,
                "entries": [[e.account_id, e.amount] for e in entries[t.pk]],
            }
            for t in transactions
        ],
        "lots": [
            {
                "consumer": lot.consumer_id,
                "remaining": lot.remaining,
                "source": lot.source_id,
                "earned_at": lot.earned_at,
                "expires_at": lot.expires_at,
            }
            for lot in lots
        ],
    }
    AuditEvent.objects.create(
        merchant_id=merchant.pk,
        actor_label="manage.py move_merchant",
        mutation="merchantMovedOut",
        input={"move": move_id, "archive": str(directory), "note": note},
        result="OK",
    )
    for name, body in (("public.json", public), ("manifest.json", manifest)):
        # The manifest last: an archive without it is an export that did not finish.
        with open(directory / name, "w") as text:
            json.dump(body, text, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1)
    return manifest


# --- Load -------------------------------------------------------------------------------


def read_archive(directory: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
        public = json.loads((directory / "public.json").read_text())
    except FileNotFoundError as exc:
        raise MoveError(
            f"{directory} is not a finished merchant archive ({exc.filename} is missing)"
        ) from exc
    if manifest.get("format") != FORMAT:
        raise MoveError(f"archive format {manifest.get('format')} is not {FORMAT}")
    return manifest, public


def _check_target(manifest: dict[str, Any], public: dict[str, Any]) -> None:
    slug = manifest["slug"]
    if Merchant.objects.filter(slug=slug).exists():
        raise MoveError(f"the target already has a merchant {slug}: nothing was loaded")
    merchant_id = public["merchant"]["id"]
    if Merchant.objects.filter(pk=merchant_id).exists():
        raise MoveError(
            f"merchant id {merchant_id} is taken in the target: the merchant's printed codes "
            "and links carry its id, so it must keep it (give each database its own range "
            "of merchant ids, docs/operations.md)"
        )
    if provisioning.schema_exists(provisioning.schema_for(slug)):
        raise MoveError(f"the target already has a schema {provisioning.schema_for(slug)}")
    names = [d["domain"] for d in public["domains"]]
    taken = Domain.objects.filter(domain__in=names).values_list("domain", flat=True)
    if taken:
        raise MoveError(f"domains already used in the target: {', '.join(sorted(taken))}")
    keys = [t["key"] for t in public["transactions"] if t["kind"] != TransactionKind.EXPIRE]
    for start in range(0, len(keys), 5_000):
        used = Transaction.objects.filter(idempotency_key__in=keys[start : start + 5_000])
        clash = used.values_list("idempotency_key", flat=True).first()
        if clash is not None:
            raise MoveError(
                f"the target's ledger already has a transaction keyed {clash!r}: the archive "
                "was loaded already, or the databases share history"
            )
    prefixes = [k["prefix"] for k in public["api_keys"]]
    if ApiKey.objects.filter(prefix__in=prefixes).exists():
        raise MoveError("an API key prefix of the merchant is already used in the target")


def _map_users(public: dict[str, Any]) -> tuple[dict[int, int], int]:
    """Source user id → target user id; existing users matched by email or phone."""
    mapping: dict[int, int] = {}
    created = 0
    identities = defaultdict(list)
    for identity in public["wechat_identities"]:
        identities[identity["user_id"]].append(identity)
    for row in public["users"]:
        keys = Q(pk__in=[])
        if row["email"]:
            keys |= Q(email=row["email"])
        if row["phone"]:
            keys |= Q(phone=row["phone"])
        for identity in identities[row["id"]]:
            keys |= Q(
                wechat_identities__app_id=identity["app_id"],
                wechat_identities__openid=identity["openid"],
            )
        found = sorted(set(User.objects.filter(keys).values_list("pk", flat=True)))
        if len(found) > 1:
            raise MoveError(
                f"user {row['id']} of the archive matches {len(found)} different users in the "
                "target (by email, phone or WeChat): merge or correct them first"
            )
        if found:
            user = User.objects.get(pk=found[0])
        else:
            fields = {f: row[f] for f in USER_FIELDS}
            user = User(**fields, is_staff=False, is_superuser=False)
            user.date_joined = _when(row["date_joined"]) or timezone.now()
            user.last_login = _when(row["last_login"])
            user.save()
            created += 1
        mapping[row["id"]] = user.pk
        for identity in identities[row["id"]]:
            held = WeChatIdentity.objects.filter(user=user, app_id=identity["app_id"]).first()
            if held is None:
                WeChatIdentity.objects.create(
                    user=user,
                    app_id=identity["app_id"],
                    openid=identity["openid"],
                    unionid=identity["unionid"],
                    created_at=_when(identity["created_at"]) or timezone.now(),
                )
            elif held.openid != identity["openid"]:
                raise MoveError(
                    f"user {row['id']} of the archive has another WeChat OpenID for app "
                    f"{identity['app_id']} in the target: correct it first"
                )
    return mapping, created


@dataclass
class Loaded:
    merchant: Merchant
    users_created: int
    users_matched: int
    transactions: int
    lots: int
    rows: dict[str, int]


def load(directory: Path) -> Loaded:
    """Load an archive into this database, all or nothing; refuse any conflict."""
    manifest, public = read_archive(directory)
    connection.set_schema_to_public()
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise MoveError("the target database is not migrated: run `manage.py migrate` there first")
    template = provisioning.ensure_template_schema()
    if _tenant_migrations(template) != manifest["tenant_migrations"]:
        raise MoveError(
            "the archive's schema and the target's template are at different migrations: "
            "deploy the same code on both sides first"
        )
    connection.set_schema_to_public()
    with transaction.atomic():
        _check_target(manifest, public)
        return _load(manifest, public, directory)


def _load(manifest: dict[str, Any], public: dict[str, Any], directory: Path) -> Loaded:
    move_id = manifest["move"]
    users, created = _map_users(public)

    def user(pk: int | None) -> int | None:
        return users.get(pk) if pk is not None else None

    source = public["merchant"]
    merchant = Merchant(
        **{
            f: source[f]
            for f in MERCHANT_FIELDS
            if f not in ("status", "created_at", "reviewed_at")
        },
        # The same id: printed codes and questionnaire links carry it (the code's merchant
        # key), and so do the merchant API's global ids.
        pk=source["id"],
        status=MerchantStatus.PENDING,
        schema_name=provisioning.schema_for(source["slug"]),
        reviewed_at=_when(source["reviewed_at"]),
    )
    merchant.save(force_insert=True)
    with connection.cursor() as cursor:
        # Later merchants of the target must not be given this id.
        cursor.execute(
            "SELECT setval(s, %s) FROM pg_get_serial_sequence('tenants_merchant', 'id') AS s "
            "WHERE %s > COALESCE(pg_sequence_last_value(s::regclass), 0)",
            [merchant.pk, merchant.pk],
        )
    provisioning.provision(merchant)
    Merchant.objects.filter(pk=merchant.pk).update(
        status=source["status"], created_at=_when(source["created_at"])
    )
    merchant.refresh_from_db()
    for domain in public["domains"]:
        Domain.objects.create(tenant=merchant, **domain)
    for row in public["memberships"]:
        _build(
            Membership,
            row,
            merchant_id=merchant.pk,
            user_id=user(row["user_id"]),
            invited_by_id=user(row["invited_by_id"]),
        ).save()
    keys: dict[int, int] = {}
    for row in public["api_keys"]:
        key = _build(ApiKey, row, merchant_id=merchant.pk, created_by_id=user(row["created_by_id"]))
        key.save()
        keys[row["id"]] = key.pk
    AuditEvent.objects.bulk_create(
        _build(
            AuditEvent,
            row,
            merchant_id=merchant.pk,
            actor_user_id=user(row["actor_user_id"]),
            api_key_id=keys.get(row["api_key_id"]),
        )
        for row in public["audit_events"]
    )
    for row in public["webhook_endpoints"]:
        _build(WebhookEndpoint, row, merchant_id=merchant.pk).save()
    for model in ANALYTICS:
        model.objects.bulk_create(
            _build(  # type: ignore[misc]
                model,
                row,
                merchant_id=merchant.pk,
                **({"consumer_id": user(row["consumer_id"])} if "consumer_id" in row else {}),
            )
            for row in public["analytics"][model._meta.label]
        )

    transactions = _replay_ledger(public, merchant, users, move_id)
    lots = _carry_lots(public, merchant, users, transactions, move_id)
    rows = _load_tables(manifest, directory, merchant.schema_name, users, transactions)
    AuditEvent.objects.create(
        merchant_id=merchant.pk,
        actor_label="manage.py move_merchant",
        mutation="merchantMovedIn",
        input={"move": move_id, "from": manifest["source_database"], "note": manifest["note"]},
        result="OK",
    )
    return Loaded(merchant, created, len(users) - created, len(transactions), lots, rows)


def _target_account(info: dict[str, Any], merchant: Merchant, users: dict[int, int]) -> Account:
    kind = info["kind"]
    if kind in PLATFORM_KINDS:
        return ledger.platform_account(AccountKind(kind))
    if kind == AccountKind.CONSUMER_WALLET:
        return ledger.wallet(users[info["consumer"]])
    if kind == AccountKind.MERCHANT_BUDGET:
        return ledger.merchant_budget(merchant.pk)
    return ledger.campaign_reserve(merchant.pk, info["ref"])


def _ignore_lots(txn: Transaction, account: Account, amount: int) -> None:
    """Replayed wallet postings open and take no lots: the carried lots replace them."""


def _replay_key(row: dict[str, Any], move_id: str) -> str:
    """The original key, so that a retried request stays a replay after the move (a
    questionnaire's reserve is keyed by its schema and id); but an expiry's key names a
    source lot id, which may be another lot's id in the target, so it gets the move's."""
    if row["kind"] == TransactionKind.EXPIRE:
        return f"move:{move_id}:in:{row['id']}"
    return str(row["key"])


def _replay_ledger(
    public: dict[str, Any], merchant: Merchant, users: dict[int, int], move_id: str
) -> dict[int, int]:
    """Post every transaction of the merchant again; source id → target id."""
    accounts = public["accounts"]
    resolved: dict[str, Account] = {}
    replayed: dict[int, int] = {}
    wallet_totals: dict[int, int] = defaultdict(int)
    for row in public["transactions"]:
        postings = []
        for account_id, amount in row["entries"]:
            key = str(account_id)
            if key not in resolved:
                resolved[key] = _target_account(accounts[key], merchant, users)
            postings.append(Posting(resolved[key], amount))
            if accounts[key]["kind"] == AccountKind.CONSUMER_WALLET:
                wallet_totals[accounts[key]["consumer"]] += amount
        reverses = replayed.get(row["reverses"]) if row["reverses"] else None
        txn = ledger.post(
            row["kind"],
            _replay_key(row, move_id),
            postings,
            merchant_id=merchant.pk,
            consumer_id=users.get(row["consumer"]) if row["consumer"] else None,
            memo=row["memo"],
            metadata={**row["metadata"], "moved": {"move": move_id, "source_id": row["id"]}},
            reverses=Transaction.objects.get(pk=reverses) if reverses else None,
            wallet_hook=_ignore_lots,
            created_at=_when(row["created_at"]),
        )
        replayed[row["id"]] = txn.pk
    # What the replay put in each wallet, against what the consumer's lots of this
    # merchant still hold: the difference was spent or expired before the move (those
    # transactions are the consumer's, not the merchant's, and stay in the source).
    held: dict[int, int] = defaultdict(int)
    for lot in public["lots"]:
        held[lot["consumer"]] += lot["remaining"]
    issuance = ledger.platform_account(AccountKind.ISSUANCE)
    for consumer in sorted(set(wallet_totals) | set(held)):
        difference = held[consumer] - wallet_totals[consumer]
        if difference:
            wallet = ledger.wallet(users[consumer])
            ledger.post(
                TransactionKind.TRANSFER,
                f"move:{move_id}:in:wallet:{consumer}",
                [Posting(wallet, difference), Posting(issuance, -difference)],
                merchant_id=merchant.pk,
                consumer_id=users[consumer],
                memo=_("Points of this merchant spent or expired before it moved"),
                metadata={"move": move_id, "direction": "in"},
                wallet_hook=_ignore_lots,
            )
    # The budget and reserves end as they were in the source (a difference would be an
    # entry on them from a transaction that does not name the merchant).
    own = {key: info for key, info in accounts.items() if info["own"]}
    adjust = []
    for key in sorted(own):
        target = resolved.get(key) or _target_account(own[key], merchant, users)
        want = public["balances"].get(key, 0)
        have = Account.objects.values_list("balance", flat=True).get(pk=target.pk)
        if want != have:
            adjust.append(Posting(target, want - have))
    if adjust:
        ledger.post(
            TransactionKind.TRANSFER,
            f"move:{move_id}:in:merchant",
            [*adjust, Posting(issuance, -sum(p.amount for p in adjust))],
            merchant_id=merchant.pk,
            memo=_("Budget and reserves as they were when the merchant moved"),
            metadata={"move": move_id, "direction": "in"},
        )
    return replayed


def _carry_lots(
    public: dict[str, Any],
    merchant: Merchant,
    users: dict[int, int],
    transactions: dict[int, int],
    move_id: str,
) -> int:
    lots = []
    for row in public["lots"]:
        consumer = users[row["consumer"]]
        lots.append(
            Lot(
                account_id=ledger.wallet(consumer).pk,
                consumer_id=consumer,
                merchant_id=merchant.pk,
                # The award that earned it; its replay is in the target.
                source_id=transactions[row["source"]],
                points=row["remaining"],
                remaining=row["remaining"],
                earned_at=_at(row["earned_at"]),
                expires_at=_at(row["expires_at"]),
            )
        )
    Lot.objects.bulk_create(lots)
    return len(lots)


def _load_tables(
    manifest: dict[str, Any],
    directory: Path,
    schema: str,
    users: dict[int, int],
    transactions: dict[int, int],
) -> dict[str, int]:
    """COPY each table into a staging copy, rewrite its public ids, insert it."""
    maps = {"accounts_user": users, "points_transaction": transactions}
    by_table: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for table, column, points_to in manifest["references"]:
        by_table[table].append((column, points_to))
    counts = {}
    with connection.cursor() as cursor:
        for name, pairs in maps.items():
            cursor.execute(
                f"CREATE TEMP TABLE move_map_{name} (old bigint PRIMARY KEY, new bigint) "
                "ON COMMIT DROP"
            )
            with cursor.copy(f"COPY move_map_{name} (old, new) FROM STDIN") as copy:
                for old, new in pairs.items():
                    copy.write_row((old, new))
        for table, columns in manifest["tables"].items():
            target_columns = _columns(schema, table)
            if target_columns != columns:
                raise MoveError(f"table {table} has other columns in the target: {target_columns}")
            staging = f"move_stage_{table}"
            cols = ", ".join(_q(c) for c in columns)
            cursor.execute(
                f"CREATE TEMP TABLE {_q(staging)} (LIKE {_q(schema)}.{_q(table)}) ON COMMIT DROP"
            )
            statement = f"COPY {_q(staging)} ({cols}) FROM STDIN"
            with (
                open(directory / "tables" / f"{table}.copy", "rb") as data,
                cursor.copy(statement) as copy,
            ):
                while block := data.read(1 << 20):
                    copy.write(block)
            for column, points_to in by_table.get(table, []):
                cursor.execute(
                    f"UPDATE {_q(staging)} s SET {_q(column)} = m.new FROM move_map_{points_to} m "
                    f"WHERE s.{_q(column)} = m.old"
                )
            cursor.execute(
                f"INSERT INTO {_q(schema)}.{_q(table)} ({cols}) OVERRIDING SYSTEM VALUE "
                f"SELECT {cols} FROM {_q(staging)}"
            )
            counts[table] = cursor.rowcount
            _reset_identity(cursor, schema, table)
    return counts


def _reset_identity(cursor: Any, schema: str, table: str) -> None:
    cursor.execute(
        """SELECT a.attname FROM pg_attribute a
           WHERE a.attrelid = %s::regclass AND a.attidentity <> ''""",
        [f"{_q(schema)}.{_q(table)}"],
    )
    for (column,) in cursor.fetchall():
        name = f"{_q(schema)}.{_q(table)}"
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), "
            f"COALESCE((SELECT MAX({_q(column)}) FROM {name}), 0) + 1, false)",
            [name, column],
        )
