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
        ('accounts', '0006_zh_hans_names'),
    ]

    operations = [
        migrations.AlterField(
            model_name='consent',
            name='user',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='consents', to=settings.AUTH_USER_MODEL, verbose_name='consumer'),
        ),
        migrations.AlterField(
            model_name='phonechallenge',
            name='phone',
            field=models.CharField(max_length=16),
        ),
        migrations.AlterField(
            model_name='wechatidentity',
            name='user',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='wechat_identities', to=settings.AUTH_USER_MODEL, verbose_name='user'),
        ),
    ]
