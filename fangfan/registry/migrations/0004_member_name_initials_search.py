
from django.db import migrations, models

BATCH = 50_000


def fill_initials(apps, schema_editor):
    """Existing members get their initials (the import and services write them from now on)."""
    import polars as pl

    from fangfan.registry.search import initials_expr

    Member = apps.get_model("registry", "Member")
    last = 0
    while True:
        rows = list(Member.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "name")[:BATCH])
        if not rows:
            return
        names = pl.Series([r[1] for r in rows], dtype=pl.String)
        initials = initials_expr(names).to_list()
        changed = [Member(pk=pk, name_initials=ini) for (pk, _), ini in zip(rows, initials) if ini]
        Member.objects.bulk_update(changed, ["name_initials"], batch_size=5_000)
        last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0003_bulk_import_schema'),
    ]

    operations = [
        migrations.AddField(
            model_name='member',
            name='name_initials',
            field=models.CharField(blank=True, db_default='', default='', max_length=60, verbose_name='姓名拼音首字母'),
        ),
        migrations.RunPython(fill_initials, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='member',
            index=models.Index(fields=['name'], name='member_name_search', opclasses=['varchar_pattern_ops']),
        ),
        migrations.AddIndex(
            model_name='member',
            index=models.Index(fields=['name_initials'], name='member_initials_search', opclasses=['varchar_pattern_ops']),
        ),
    ]
