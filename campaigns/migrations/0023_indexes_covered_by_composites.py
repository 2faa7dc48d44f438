"""Foreign keys no longer carry an index of their own where an index or unique constraint
of the table leads with them already (decision 0339): every row written paid for the
duplicate, and every lookup by the key uses the composite. Guarded by
tests/test_covered_indexes.py.

Also dropped: the ``varchar_pattern_ops`` twin Django adds to campaigns_claim.code_id (a
one-to-one key to a ``CharField`` primary key), for ``LIKE 'prefix%'``: claims are
looked up by their code with equality only, which the unique index serves. Every claim
paid for it. Dropped by name, as campaigns 0005 dropped the code table's (the name is
not in the migration state; every merchant schema copied it from the template).
"""

import django.db.models.deletion
from django.db import migrations, models


CLAIM_CODE_PATTERN_OPS = "campaigns_claim_code_id_ab17ca89_like"


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0022_import_staging_serial_and_key'),
    ]

    operations = [
        migrations.AlterField(
            model_name='batchexport',
            name='batch',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='exports', to='campaigns.codebatch'),
        ),
        migrations.AlterField(
            model_name='follow',
            name='campaign',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='follows', to='campaigns.campaign'),
        ),
        migrations.AlterField(
            model_name='followcode',
            name='campaign',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='follow_codes', to='campaigns.campaign'),
        ),
        migrations.AlterField(
            model_name='importrefusal',
            name='code_import',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='refusals', to='campaigns.codeimport'),
        ),
        migrations.AlterField(
            model_name='prizedraw',
            name='table',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='log', to='campaigns.prizetable'),
        ),
        migrations.AlterField(
            model_name='prizeseed',
            name='table',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='seeds', to='campaigns.prizetable'),
        ),
        migrations.AlterField(
            model_name='prizetier',
            name='table',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='tiers', to='campaigns.prizetable'),
        ),
        migrations.AlterField(
            model_name='questionnaireopen',
            name='campaign',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='opens', to='campaigns.campaign'),
        ),
        migrations.AlterField(
            model_name='questionnaireversion',
            name='questionnaire',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='versions', to='campaigns.questionnaire'),
        ),
        migrations.AlterField(
            model_name='response',
            name='campaign',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='responses', to='campaigns.campaign'),
        ),
        migrations.RunSQL(
            f"DROP INDEX IF EXISTS {CLAIM_CODE_PATTERN_OPS}",
            f"CREATE INDEX {CLAIM_CODE_PATTERN_OPS} ON campaigns_claim (code_id varchar_pattern_ops)",
        ),
    ]
