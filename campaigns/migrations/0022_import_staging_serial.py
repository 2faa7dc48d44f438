"""The import's staging gets each line's serial in its batch (decision 0331).

Staging only: an import in flight during the deploy starts its check again from its
file (``importing._clear``), so the default 0 never reaches a batch.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0021_campaign_link_keys'),
    ]

    operations = [
        migrations.AddField(
            model_name='importline',
            name='serial',
            field=models.PositiveIntegerField(default=0),
            preserve_default=False,
        ),
    ]
