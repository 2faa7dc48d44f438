"""Each campaign gets an unguessable public key for its link (decision 0323).

Existing questionnaires and follow campaigns keep their numeric link working: their
posters and shared links are out in the world. The column is added nullable, filled
per row with ``new_link_key`` and then made required and unique.
"""

from django.db import migrations, models

import campaigns.models.campaigns


def fill_keys(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    rows = list(Campaign.objects.only("id", "kind"))
    for row in rows:
        row.link_key = campaigns.models.campaigns.new_link_key()
        # Scan campaigns never had a link of their own: nothing printed to honour.
        row.numeric_link = row.kind in ("questionnaire", "follow")
    Campaign.objects.bulk_update(rows, ["link_key", "numeric_link"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0020_imported_hidden_routes"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="link_key",
            field=models.CharField(max_length=13, null=True),
        ),
        migrations.AddField(
            model_name="campaign",
            name="numeric_link",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="campaign",
            name="link_key",
            field=models.CharField(
                default=campaigns.models.campaigns.new_link_key, max_length=13, unique=True
            ),
        ),
    ]
