from django.db import migrations

# Ledger rows are append-only: corrections are reversing transactions. The database
# enforces it, so no code path (admin, shell, a bug) can edit history.
FORWARD = """
CREATE OR REPLACE FUNCTION points_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER points_entry_append_only BEFORE UPDATE OR DELETE ON points_entry
    FOR EACH ROW EXECUTE FUNCTION points_forbid_change();
CREATE TRIGGER points_transaction_append_only BEFORE UPDATE OR DELETE ON points_transaction
    FOR EACH ROW EXECUTE FUNCTION points_forbid_change();
CREATE TRIGGER points_lotdebit_append_only BEFORE UPDATE OR DELETE ON points_lotdebit
    FOR EACH ROW EXECUTE FUNCTION points_forbid_change();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS points_entry_append_only ON points_entry;
DROP TRIGGER IF EXISTS points_transaction_append_only ON points_transaction;
DROP TRIGGER IF EXISTS points_lotdebit_append_only ON points_lotdebit;
DROP FUNCTION IF EXISTS points_forbid_change();
"""


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
