"""Foreign keys no longer carry an index of their own where an index or unique constraint
of the table leads with them already (decision 0339): every row written paid for the
duplicate, and every lookup by the key uses the composite. Guarded by
tests/test_covered_indexes.py.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0023_indexes_covered_by_composites'),
        ('dealers', '0001_dealers_and_diversion'),
    ]

    operations = [
        migrations.AlterField(
            model_name='dealerassignment',
            name='batch',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='campaigns.codebatch'),
        ),
        migrations.AlterField(
            model_name='diversionevent',
            name='dealer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='dealers.dealer'),
        ),
    ]
