"""No index is covered by another index of its table (decision 0339).

An index whose columns lead another index of the same table answers no lookup the
other does not (PostgreSQL reads a prefix of a B-tree's columns as well), yet every row
written pays for both: Django adds an index to each foreign key by default, and a
composite index or a unique constraint leading with that key makes it a duplicate. The
claim, the submit and the redeem each wrote several such entries per call. The sweep
reads the catalogue of the public schema and of a merchant's schema; what it reports,
drop (``db_index=False`` on the field), or say here why it stays.
"""

from __future__ import annotations

import pytest

from core.db import connection
from tests.fixtures.tenants import Tenants

pytestmark = pytest.mark.django_db

# Django's own tables (auth's permissions, the user's many-to-many tables from
# PermissionsMixin): theirs to define, small, written only by the admin.
DJANGO_OWN = (
    "auth_permission",
    "auth_group_permissions",
    "accounts_user_groups",
    "accounts_user_user_permissions",
)

# A plain B-tree index (not unique, not partial, no expression) whose key columns, in
# order, begin the key of another whole-table B-tree index of the same table, with the
# same operator class on the first column; of two alike, the one named later.
COVERED = """
WITH idx AS (
    SELECT n.nspname AS schema, t.relname AS tab, c.relname AS name,
           -- int2vector and oidvector count from 0; these arrays from 1
           string_to_array(i.indkey::text, ' ')::int2[] AS keys,
           string_to_array(i.indclass::text, ' ')::oid[] AS classes, i.indisunique AS uniq,
           i.indpred IS NULL AND i.indexprs IS NULL AS whole
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_class t ON t.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      JOIN pg_am a ON a.oid = c.relam AND a.amname = 'btree'
     WHERE n.nspname = ANY(%s))
SELECT a.schema || '.' || a.tab, a.name, b.name
  FROM idx a JOIN idx b ON (a.schema, a.tab) = (b.schema, b.tab) AND a.name <> b.name
 WHERE NOT a.uniq AND a.whole AND b.whole
   AND b.keys[1:cardinality(a.keys)] = a.keys AND b.classes[1] = a.classes[1]
   AND (cardinality(b.keys) > cardinality(a.keys) OR b.uniq OR a.name > b.name)
   AND a.tab <> ALL(%s)
 ORDER BY 1, 2, 3
"""


def covered_indexes(schemas: list[str]) -> list[tuple[str, str, str]]:
    """(table, covered index, the index that covers it) in ``schemas``."""
    with connection.cursor() as cursor:
        cursor.execute(COVERED, [schemas, list(DJANGO_OWN)])
        return [tuple(row) for row in cursor.fetchall()]


def test_no_index_is_covered_by_another(tenants: Tenants) -> None:
    found = covered_indexes(["public", tenants.acme.schema_name])
    assert not found, (
        "indexes another index of their table covers (each row written pays for both): "
        f"{found}; give the field db_index=False (decision 0339)"
    )


def test_the_sweep_finds_a_planted_duplicate(tenants: Tenants) -> None:
    """The guard can fail: Django's default index on the delivery's endpoint, put back,
    is covered by the (endpoint, event_id) constraint and the endpoint's listing index."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX planted_endpoint ON public.webhooks_webhookdelivery (endpoint_id)"
        )
        cursor.execute(
            f'CREATE INDEX planted_campaign ON "{tenants.acme.schema_name}".campaigns_response'
            " (campaign_id)"
        )
    found = covered_indexes(["public", tenants.acme.schema_name])
    assert {(table.split(".")[1], name) for table, name, _by in found} == {
        ("webhooks_webhookdelivery", "planted_endpoint"),
        ("campaigns_response", "planted_campaign"),
    }
