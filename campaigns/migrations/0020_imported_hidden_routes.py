# Imported batches with hidden codes made before their routing rows carried the flag
# (decision 0314): their codes' claims now need the label's secret too. Run in each
# merchant's schema (a tenant app), it marks that merchant's routed codes only: our own
# codes have no routing row, so the join finds none of them.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0019_questionnaire_prizes'),
        ('tenants', '0011_code_route_needs_hidden_code'),
    ]

    operations = [
        migrations.RunSQL(
            """
            UPDATE public.tenants_coderoute r SET needs_hidden_code = true
              FROM campaigns_code c JOIN campaigns_codebatch b ON b.id = c.batch_id
             WHERE b.hidden_code AND r.key = md5(c.code)::uuid
            """,
            migrations.RunSQL.noop,
        ),
    ]
