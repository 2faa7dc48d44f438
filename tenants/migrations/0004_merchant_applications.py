# Merchant applications: a merchant is a pending row with no schema until approval
# provisions it (provisioned_at). Every merchant onboarded before this migration was
# created with its schema, so it is marked provisioned from its creation.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0003_auditevent_append_only'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='MerchantApplication',
            fields=[
            ],
            options={
                'verbose_name': 'merchant application',
                'verbose_name_plural': 'merchant applications',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('tenants.merchant',),
        ),
        migrations.RemoveConstraint(
            model_name='merchant',
            name='merchant_status_valid',
        ),
        migrations.AddField(
            model_name='merchant',
            name='about',
            field=models.TextField(blank=True, max_length=1000),
        ),
        migrations.AddField(
            model_name='merchant',
            name='language',
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AddField(
            model_name='merchant',
            name='provisioned_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='merchant',
            name='review_note',
            field=models.TextField(blank=True, max_length=1000),
        ),
        migrations.AddField(
            model_name='merchant',
            name='reviewed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='merchant',
            name='reviewed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='merchant',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('active', 'Active'), ('suspended', 'Suspended'), ('rejected', 'Rejected')], default='pending', max_length=16),
        ),
        migrations.AddConstraint(
            model_name='merchant',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'active', 'suspended', 'rejected'])), name='merchant_status_valid'),
        ),
        migrations.RunSQL(
            """UPDATE tenants_merchant m SET provisioned_at = m.created_at
               WHERE m.provisioned_at IS NULL
                 AND EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = m.schema_name)""",
            migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name='merchant',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'rejected']), ('provisioned_at__isnull', False), _connector='OR'), name='merchant_approved_is_provisioned'),
        ),
    ]
