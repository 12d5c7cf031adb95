"""The lodging channel of an operator (B2G system or portal only).

On SQLite, adding the column rebuilds operators_operator, which drops the directory's FTS5
triggers (see 0006): they are installed again right after."""

import importlib

from django.db import migrations, models

directory_search = importlib.import_module("comptoir.operators.migrations.0006_directory_search")


def fts_reinstall(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "sqlite":
        directory_search.sqlite_fts_install(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0006_directory_search"),
    ]

    operations = [
        migrations.AddField(
            model_name="operator",
            name="lodging_channel",
            field=models.CharField(
                choices=[("b2g", "B2G system"), ("portal", "Portal only")],
                db_default="portal",
                default="portal",
                help_text=(
                    "B2G operators lodge through their own system and use the portal only "
                    "during a fallback; portal-only operators always lodge through the portal."
                ),
                max_length=10,
                verbose_name="lodging channel",
            ),
        ),
        migrations.RunPython(fts_reinstall, migrations.RunPython.noop),
    ]
