"""The import's staging gets each line's serial in its batch and routing key (decision 0331).

Staging only: an import in flight during the deploy starts its check again from its
file (``importing._clear``), so the default 0 of the serial never reaches a batch.
"""

import django.db.models.functions.comparison
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0021_campaign_link_keys'),
    ]

    operations = [
        migrations.AddField(
            model_name='importline',
            name='key',
            field=models.GeneratedField(db_persist=True, expression=django.db.models.functions.comparison.Cast(django.db.models.functions.text.MD5('code'), models.UUIDField()), output_field=models.UUIDField()),
        ),
        migrations.AddField(
            model_name='importline',
            name='serial',
            field=models.PositiveIntegerField(default=0),
            preserve_default=False,
        ),
    ]
