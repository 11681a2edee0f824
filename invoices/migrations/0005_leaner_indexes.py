import django.db.models.deletion
import invoices.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('invoices', '0004_payment_first_seen_at_given'),
        ('merchants', '0005_members_are_staff'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.UniqueConstraint(fields=('uid',), name='invoice_unique_uid'),
        ),
        migrations.RemoveIndex(
            model_name='invoice',
            name='invoice_merchant_email',
        ),
        migrations.RemoveIndex(
            model_name='invoice',
            name='invoice_merchant_business',
        ),
        migrations.RemoveIndex(
            model_name='invoice',
            name='invoice_merchant_location',
        ),
        migrations.RemoveIndex(
            model_name='invoice',
            name='invoice_merchant_register',
        ),
        migrations.AlterField(
            model_name='invoice',
            name='merchant',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='invoices', to='merchants.merchant'),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='uid',
            field=models.CharField(default=invoices.models.new_uid, editable=False, max_length=16),
        ),
        migrations.AlterField(
            model_name='paymentoption',
            name='invoice',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='payment_options', to='invoices.invoice'),
        ),
        migrations.AlterField(
            model_name='paymentoption',
            name='script_pubkey',
            field=models.CharField(max_length=200),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('customer_email__isnull', False)), fields=['merchant', 'customer_email'], name='invoice_merchant_email'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('business_id__isnull', False)), fields=['merchant', 'business_id', '-created_at'], name='invoice_merchant_business'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('location_id__isnull', False)), fields=['merchant', 'location_id', '-created_at'], name='invoice_merchant_location'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('register_id__isnull', False)), fields=['merchant', 'register_id', '-created_at'], name='invoice_merchant_register'),
        ),
        migrations.AddIndex(
            model_name='paymentoption',
            index=models.Index(fields=['script_pubkey'], name='payment_option_script'),
        ),
    ]
