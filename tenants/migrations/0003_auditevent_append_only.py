from django.db import migrations

# The audit log is append-only, as the ledger is: no code path (admin, shell, a bug,
# someone covering their tracks with the application's credentials) can edit or
# delete an event. TRUNCATE (test database flushes) is not a row operation.
FORWARD = """
CREATE OR REPLACE FUNCTION tenants_audit_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER tenants_auditevent_append_only BEFORE UPDATE OR DELETE ON tenants_auditevent
    FOR EACH ROW EXECUTE FUNCTION tenants_audit_forbid_change();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS tenants_auditevent_append_only ON tenants_auditevent;
DROP FUNCTION IF EXISTS tenants_audit_forbid_change();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0002_api_keys_audit")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
