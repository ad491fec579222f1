"""Rule results kept in cases (home check, economic check, re-check) named members by their plain
ID in `single_person_dibao` / `special_member_ids` before IDs were encrypted (issue 11): those
become the members' blind indexes, like every rule result read from the database now."""
from django.db import migrations

from fangfan.common import pii

MEMBER_LISTS = ("single_person_dibao", "special_member_ids")


def _convert(value, ring):
    """The JSON with every plain ID of a member list replaced by its index; None when unchanged."""
    changed = False

    def walk(node):
        nonlocal changed
        if isinstance(node, dict):
            out = {}
            for key, item in node.items():
                if key in MEMBER_LISTS and isinstance(item, str) and item:
                    parts = [ring.index(p) if len(p) == 18 else p for p in item.split(";")]
                    joined = ";".join(parts)
                    changed |= joined != item
                    out[key] = joined
                else:
                    out[key] = walk(item)
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    converted = walk(value)
    return converted if changed else None


def forward(apps, schema_editor):
    ring = pii.keyring()
    for model, field in (("Case", "data"), ("CaseEvent", "payload")):
        Model = apps.get_model("workflows", model)
        changed = []
        for pk, value in Model.objects.order_by("pk").values_list("pk", field).iterator(chunk_size=2000):
            converted = _convert(value, ring)
            if converted is not None:
                changed.append(Model(pk=pk, **{field: converted}))
            if len(changed) >= 2000:
                Model.objects.bulk_update(changed, [field])
                changed = []
        if changed:
            Model.objects.bulk_update(changed, [field])


class Migration(migrations.Migration):
    dependencies = [("workflows", "0004_alter_case_kind")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=True)]
