"""Foreign keys no longer carry an index of their own where an index or unique constraint
of the table leads with them already (decision 0339): every row written paid for the
duplicate, and every lookup by the key uses the composite. Guarded by
tests/test_covered_indexes.py.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0011_code_route_needs_hidden_code'),
    ]

    operations = [
        migrations.AlterField(
            model_name='apikey',
            name='merchant',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='api_keys', to='tenants.merchant', verbose_name='merchant'),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='merchant',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenants.merchant', verbose_name='merchant'),
        ),
        migrations.AlterField(
            model_name='membership',
            name='merchant',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='tenants.merchant'),
        ),
    ]
