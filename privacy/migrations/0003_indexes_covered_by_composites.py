"""Foreign keys no longer carry an index of their own where an index or unique constraint
of the table leads with them already (decision 0339): every row written paid for the
duplicate, and every lookup by the key uses the composite. Guarded by
tests/test_covered_indexes.py.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('privacy', '0002_personal_data_requests'),
        ('tenants', '0012_indexes_covered_by_composites'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='datacopy',
            name='user',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='data_copies', to=settings.AUTH_USER_MODEL, verbose_name='consumer'),
        ),
        migrations.AlterField(
            model_name='merchantconsent',
            name='merchant',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='consumer_consents', to='tenants.merchant', verbose_name='merchant'),
        ),
    ]
