"""The hot paths stay distributable: the Citus path of docs/scaling.md, checked by code.

Past one PostgreSQL primary, merchant schemas are distributed as units (Citus
schema-based sharding) and the public tables that grow with consumers are
hash-distributed by a key column (``DISTRIBUTION``). A statement on such a table that
does not pin the key (an equality in its WHERE, or the column in an INSERT's list)
would go to every shard. This test runs a claim, two prize claims, a questionnaire
submission and a redeem, captures every statement they send, expands each call of our SQL
functions into the statements of its body (``pg_get_functiondef``, parsed with pglast's
PL/pgSQL parser, recursively), and checks each statement against ``DISTRIBUTION``.

What does not pass today is listed in ``KNOWN`` with the change it waits for (the
ledger's ``ledger_key``, docs/scaling.md): a new statement that does not pin its key
fails the test, and so does fixing a known one without taking it off the list (the
list only shrinks). ``test_the_check_sees_a_statement_that_does_not_pin_its_key`` shows
the check failing on planted statements.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import tenant_context
from pglast import ast, parse_plpgsql, parse_sql
from pglast.enums import BoolExprType
from pglast.visitors import Visitor

from campaigns.models import Campaign, CampaignKind, CampaignStatus, Code
from campaigns.models.prizes import TierTerms
from campaigns.prizes.services import set_prize_table
from campaigns.questionnaires.services import create_questionnaire_campaign, submit, submit_to
from campaigns.scan.claims import claim_code
from campaigns.services import set_status
from core.db import connection
from redemption import services as mall
from redemption.models import Address
from tests.fixtures.activity import consumer, mall_product, merchant_with_activity
from tests.fixtures.prizes import merchant_with_prize_codes, nonce

pytestmark = pytest.mark.usefixtures("committed_db")

# Public table -> the columns whose value is (or makes up) its distribution key. The
# ledger's key is to be one column, ``ledger_key`` (a consumer's id for their rows,
# minus the merchant's id for a merchant's own): until it exists, a statement pins it
# by filtering on ``consumer_id`` or ``merchant_id``, which it is computed from.
DISTRIBUTION: dict[str, tuple[str, ...]] = {
    "accounts_user": ("id",),
    "accounts_authsession": ("user_id",),
    "accounts_consent": ("user_id",),
    "accounts_wechatidentity": ("user_id",),
    "points_account": ("consumer_id", "merchant_id"),
    "points_transaction": ("consumer_id", "merchant_id"),
    "points_entry": ("consumer_id", "merchant_id"),
    "points_lot": ("consumer_id", "merchant_id"),
    "points_lotdebit": ("consumer_id", "merchant_id"),
    "redemption_order": ("consumer_id",),
    "redemption_address": ("consumer_id",),
    "redemption_product": ("id",),
    "redemption_coupon": ("product_id",),
    "notifications_consumerpreference": ("consumer_id",),
}
# Reference tables (small, copied to every node) and merchant-schema tables are not
# checked: a merchant's schema lives whole on one node.

# (function, table, statement kind) -> the change it waits for.
KNOWN: dict[tuple[str, str, str], str] = {
    ("points_post", "points_transaction", "SelectStmt"): (
        "idempotency key lookup: unique per ledger_key once distributed"
    ),
    ("points_post", "points_account", "UpdateStmt"): "balances by id: add ledger_key",
    ("points_post", "points_lot", "UpdateStmt"): "lots by id: add ledger_key",
    ("points_post", "points_lot", "SelectStmt"): "lots by account: add ledger_key",
    ("points_post", "points_lotdebit", "InsertStmt"): "lot debits carry ledger_key",
    ("redemption_redeem", "points_account", "SelectStmt"): "the mall's account: ledger_key 0",
    ("redemption_redeem", "redemption_coupon", "UpdateStmt"): (
        "coupons taken by id: the outer UPDATE must name the product too (adding"
        " `c.product_id = p_product` as is changed the plan of the SKIP LOCKED subquery)"
    ),
    ("redemption_redeem", "points_account", "InsertStmt"): "the mall's account: ledger_key 0",
    # A coupon prize redeems its price as the mall does (decision 0281).
    ("campaigns_prize_coupon", "points_account", "SelectStmt"): "the mall's account: ledger_key 0",
    ("campaigns_prize_coupon", "points_account", "InsertStmt"): "the mall's account: ledger_key 0",
    ("campaigns_prize_coupon", "redemption_coupon", "UpdateStmt"): (
        "the coupon taken by id, as redemption_redeem's (naming the product in the outer"
        " UPDATE made the SKIP LOCKED subquery find no coupon here too)"
    ),
}


# --- Capturing the statements --------------------------------------------------------


def _function_queries(body: dict[str, Any] | list[Any], found: list[str]) -> None:
    """Every SQL expression of a parsed PL/pgSQL function (``PLpgSQL_expr.query``)."""
    items = body.items() if isinstance(body, dict) else enumerate(body)
    for key, value in items:
        if key == "query" and isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict | list):
            _function_queries(value, found)


def _definition(name: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n"
            " ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.proname = %s"
            " AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')",
            [name],
        )
        row = cursor.fetchone()
    return row[0] if row else None


class _Calls(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def visit_FuncCall(self, ancestors: Any, node: Any) -> None:
        self.names.append(node.funcname[-1].sval)


def statements(sql: str, origin: str = "python") -> Iterator[tuple[str, Any]]:
    """(origin, statement) for ``sql`` and, recursively, every PL/pgSQL function it calls."""
    try:
        # Django's placeholders are no SQL: any value stands for them here.
        parsed = parse_sql(re.sub(r"(?<!%)%s", "NULL", sql).replace("%%", "%"))
    except Exception:  # a PL/pgSQL expression that is not a statement (``x := 1``)
        return
    for raw in parsed:
        statement: Any = raw.stmt
        yield origin, statement
        calls = _Calls()
        calls(statement)
        for name in calls.names:
            definition = _definition(name)
            if definition is None:
                continue  # a built-in or an SQL-language function
            found: list[str] = []
            _function_queries(parse_plpgsql(definition), found)
            for query in found:
                yield from statements(_as_statement(query), name)


def _as_statement(query: str) -> str:
    """A PL/pgSQL expression as SQL: conditions and assignments become a SELECT."""
    return (
        query
        if re.match(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", query, re.I)
        else (f"SELECT {query}")
    )


# --- The check ---------------------------------------------------------------------------


def _conjuncts(node: Any) -> Iterator[Any]:
    if isinstance(node, ast.BoolExpr) and node.boolop == BoolExprType.AND_EXPR:
        for arg in node.args or ():
            yield from _conjuncts(arg)
    elif node is not None:
        yield node


def _column(node: Any, names: set[str]) -> str | None:
    """The column a ColumnRef names, when it is qualified by one of ``names`` (the
    table and its alias) or not qualified."""
    if not isinstance(node, ast.ColumnRef):
        return None
    parts = [f.sval for f in node.fields or () if isinstance(f, ast.String)]
    if len(parts) == 1 or (len(parts) == 2 and parts[0] in names):
        return parts[-1]
    return None


def _pins(where: Any, names: set[str], keys: tuple[str, ...]) -> bool:
    for conjunct in _conjuncts(where):
        if isinstance(conjunct, ast.A_Expr) and conjunct.name and conjunct.name[-1].sval == "=":
            for side in (conjunct.lexpr, conjunct.rexpr):
                if _column(side, names) in keys:
                    return True
    return False


class _Tables(Visitor):
    """Each distributed table a statement reads or writes, with whether it pins its key."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, bool]] = []

    def _check(self, kind: str, relation: Any, where: Any, listed: bool) -> None:
        keys = DISTRIBUTION.get(relation.relname)
        if keys is None:
            return
        names = {relation.relname, *([relation.alias.aliasname] if relation.alias else [])}
        self.found.append((relation.relname, kind, listed or _pins(where, names, keys)))

    def visit_SelectStmt(self, ancestors: Any, node: Any) -> None:
        quals = [node.whereClause]
        relations: list[Any] = []
        pending = list(node.fromClause or ())
        while pending:
            item = pending.pop()
            if isinstance(item, ast.RangeVar):
                relations.append(item)
            elif isinstance(item, ast.JoinExpr):
                pending += [item.larg, item.rarg]
                quals.append(item.quals)
        where = ast.BoolExpr(boolop=BoolExprType.AND_EXPR, args=[q for q in quals if q])
        for relation in relations:
            self._check("SelectStmt", relation, where, listed=False)

    def visit_UpdateStmt(self, ancestors: Any, node: Any) -> None:
        self._check("UpdateStmt", node.relation, node.whereClause, listed=False)

    def visit_DeleteStmt(self, ancestors: Any, node: Any) -> None:
        self._check("DeleteStmt", node.relation, node.whereClause, listed=False)

    def visit_InsertStmt(self, ancestors: Any, node: Any) -> None:
        relation = node.relation
        assert relation is not None and relation.relname is not None
        columns = {target.name for target in node.cols or ()}
        keys = DISTRIBUTION.get(relation.relname, ())
        self._check("InsertStmt", relation, None, listed=bool(columns & set(keys)))


def unpinned(captured: list[str]) -> set[tuple[str, str, str]]:
    """(origin, table, kind) of every statement that does not pin its table's key."""
    found: set[tuple[str, str, str]] = set()
    for sql in captured:
        for origin, statement in statements(sql):
            tables = _Tables()
            tables(statement)
            found |= {(origin, table, kind) for table, kind, ok in tables.found if not ok}
    return found


# --- The paths ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hot_paths(django_db_setup: None, django_db_blocker: Any) -> list[str]:
    """The SQL sent by a claim, prize claims, questionnaire submissions (one with a prize
    table) and a redeem."""
    with django_db_blocker.unblock():
        product = mall_product()
        slug = f"dist-{uuid.uuid4().hex[:8]}"
        merchant = merchant_with_activity(slug, [consumer(), consumer()], product, orders=False)
        buyer = consumer()
        address = Address.objects.get(consumer=buyer)
        with tenant_context(merchant.merchant):
            codes = list(
                Code.objects.filter(claimed_at__isnull=True).values_list("code", flat=True)
            )
            survey = Campaign.objects.get(kind=CampaignKind.QUESTIONNAIRE)
        # Two draws: one that pays (points_post) and one "thank you" (the balance read).
        _prizes, _batch, prize_codes = merchant_with_prize_codes(
            lambda name: f"{name}-{uuid.uuid4().hex[:8]}",
            size=2,
            tiers=[TierTerms("一等奖", 5, 1_000_000, 1), TierTerms("谢谢参与", 0, 1, None)],
        )
        with tenant_context(_prizes):
            prize_survey = create_questionnaire_campaign(
                name="有奖问卷",
                questions=[{"id": "q1", "type": "rating", "text": "?", "required": True}],
                points_per_response=1,
                max_rewarded_responses=5,
            )
            set_prize_table(
                prize_survey, [TierTerms("一等奖", 5, 1, 2), TierTerms("谢谢", 0, 1, None)]
            )
            set_status(_prizes, prize_survey, CampaignStatus.ACTIVE)
        captured: list[str] = []

        def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            captured.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(capture):
            for code in codes[:2]:
                claim_code(buyer, code, f"dist-claim-{code}")
            for code in prize_codes:
                claim_code(buyer, code, f"dist-prize-{code}", nonce=nonce())
            with tenant_context(merchant.merchant):
                submit(merchant.merchant, buyer, survey.pk, {"q1": 5}, f"dist-answer-{slug}")
            submit_to(
                _prizes.pk,
                buyer,
                prize_survey.pk,
                {"q1": 5},
                f"dist-draw-{slug}",
                share_with_merchant=True,
                nonce=nonce(),
            )
            mall.redeem(buyer, product.pk, 1, idempotency_key=f"dist-{slug}", address_id=address.pk)
        connection.set_schema_to_public()
        return captured


def test_every_statement_of_the_hot_paths_pins_its_distribution_key(
    hot_paths: list[str],
) -> None:
    origins = {origin for sql in hot_paths for origin, _s in statements(sql)}
    # The paths' functions and the ledger's were all expanded and checked (the prize
    # payout, campaigns_prize_pay, is called by both prize functions: decision 0319).
    assert {
        "campaigns_claim_code",
        "campaigns_claim_prize",
        "campaigns_submit_prize",
        "campaigns_prize_pay",
        "campaigns_submit_response",
        "redemption_redeem",
    } <= origins
    assert "points_post" in origins
    assert unpinned(hot_paths) == set(KNOWN)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE points_account SET balance = 0 WHERE id = 1", {"UpdateStmt"}),
        ("SELECT 1 FROM redemption_order o WHERE o.id = 5", {"SelectStmt"}),
        ("INSERT INTO redemption_address (recipient) VALUES ('x')", {"InsertStmt"}),
        ("SELECT 1 FROM redemption_order o JOIN points_lot l ON l.id = o.id", {"SelectStmt"}),
        ("SELECT 1 FROM redemption_order o WHERE o.consumer_id = 5", set()),
        ("UPDATE points_lot l SET remaining = 0 WHERE l.consumer_id = 5 AND l.id = 1", set()),
        ("INSERT INTO redemption_address (consumer_id) VALUES (1)", set()),
        ("SELECT 1 FROM tenants_merchant WHERE id = 1", set()),  # a reference table
    ],
)
def test_the_check_sees_a_statement_that_does_not_pin_its_key(sql: str, expected: set[str]) -> None:
    assert {kind for _o, _t, kind in unpinned([sql])} == expected
