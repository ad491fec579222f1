"""The plain FeedRow.id_number and its index go (0004 converted every row); the blind index is
indexed instead. A migration of its own: on PostgreSQL the table is altered in a transaction
apart from the one that updated its rows."""
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("departments", "0004_feed_row_id_encrypted")]

    operations = [
        migrations.RemoveIndex("feedrow", "feed_row_id_number"),
        migrations.RemoveField("feedrow", "id_number"),
        migrations.AddIndex("feedrow", models.Index(fields=["id_index"], name="feed_row_id_index")),
    ]
