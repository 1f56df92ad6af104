"""SQLite: an FTS5 table for ranked lesson search, filled by the import service.
PostgreSQL searches the Section table directly (SearchVector / SearchRank / SearchHeadline)."""

from django.db import migrations

CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS lessons_section_fts USING fts5("
    "heading, plain_text, section_id UNINDEXED, tokenize='porter unicode61')"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS lessons_section_fts")


class Migration(migrations.Migration):
    dependencies = [("lessons", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
