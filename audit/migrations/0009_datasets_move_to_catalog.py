"""Dataset and Item now live in catalog (state only: the tables stay, see catalog/0001).

Their content types follow, so permissions and admin history keep pointing at them."""

import django.db.models.deletion
from django.db import migrations, models

from config.model_moves import move_content_types


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0008_assessment_client_key'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('catalog', '0001_initial'),
        ('training', '0004_datasets_in_catalog'),
        ('translation', '0005_items_in_catalog'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='campaign',
                    name='dataset',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='campaigns', to='catalog.dataset'),
                ),
                migrations.DeleteModel(
                    name='Item',
                ),
                migrations.DeleteModel(
                    name='Dataset',
                ),
            ],
        ),
        move_content_types("audit", "catalog", ("dataset", "item")),
    ]
