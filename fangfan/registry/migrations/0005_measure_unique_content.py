from django.db import migrations, models


class Migration(migrations.Migration):
    """data.md: two measures of one kind starting the same day with different content are both
    kept; the key gains 措施内容 (existing rows are unique under the old key, so under this one too)."""

    dependencies = [
        ('registry', '0004_member_name_initials_search'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='measure',
            name='measure_unique',
        ),
        migrations.AddConstraint(
            model_name='measure',
            constraint=models.UniqueConstraint(
                fields=('household', 'measure_code', 'started_on', 'content'), name='measure_unique_content'
            ),
        ),
    ]
