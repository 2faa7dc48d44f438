"""campaigns_code keeps only the indexes a query needs (decision 0140).

Dropped: the batch's index (the unique (batch, serial) serves every lookup by batch),
the claimer's (no query reads codes by consumer; claims are read from campaigns_claim)
and the ``varchar_pattern_ops`` twin Django adds to a ``CharField`` primary key for
``LIKE 'prefix%'`` (codes are looked up by equality only: the primary key serves it).
Every row a batch generates paid for the three; every claim too (its UPDATE writes
new entries in each).

The twin is not in the migration state (Django adds it on its own), so it is dropped
by name: the name Django's schema editor gave it, which the template schema and every
merchant schema copied from it keep (tenants.provisioning copies indexes under their
names).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

PATTERN_OPS_TWIN = "campaigns_code_code_620a7b5d_like"


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0004_public_fks_do_nothing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="code",
            name="batch",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="codes",
                to="campaigns.codebatch",
            ),
        ),
        migrations.AlterField(
            model_name="code",
            name="claimed_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunSQL(
            f"DROP INDEX IF EXISTS {PATTERN_OPS_TWIN}",
            f"CREATE INDEX {PATTERN_OPS_TWIN} ON campaigns_code (code varchar_pattern_ops)",
        ),
    ]
