"""Directory search at a million operators (see comptoir.operators.directory).

1. Backfill Operator.search_name (the name folded by comptoir.core.text.search_text) for the
   rows written before it existed.
2. PostgreSQL: the pg_trgm and btree_gin extensions and, on the operators the directory lists
   (active, neither merged nor deleted), a GIN index on (country, search_name gin_trgm_ops) that
   answers "country = X AND search_name LIKE '%word%'" (and the word-start regular expression
   used for one- and two-letter words); a B-tree on (country, name, id) INCLUDE (search_name) for
   name order within a country; a B-tree on (postcode, country) for the likely-duplicate check;
   a larger statistics target on search_name, so that the planner tells common words from rare.
   Measured with EXPLAIN ANALYZE on 1,000,000 generated operators: a page of a name search
   takes a few milliseconds, from one index or the other.
3. SQLite: an FTS5 external-content table over (country, search_name) (content=
   'operators_operator', content_rowid='id'), kept in step by insert/update/delete triggers
   (bulk_create and raw SQL included: triggers fire on every row), queried by word prefix;
   B-trees on (country, name), (postcode, country) and eori.

Nothing here is in Django's model state: the operations are vendor-specific SQL and the model
does not change. Reversible: the reverse drops what was created (the extensions stay, other
indexes may use them).

Beware on SQLite: a later migration that alters operators_operator makes Django rebuild the
table (create, copy, drop, rename), which drops the triggers above. Such a migration must call
`sqlite_fts_install` again (tests/operators/test_directory_search.py fails when the triggers are
missing).
"""

from django.db import migrations

from comptoir.core.text import search_text

BATCH = 2000

# The rows the directory lists: the same conditions as operators.directory.directory_search.
LISTED = "status = 'active' AND merged_into_id IS NULL AND deleted_at IS NULL"

POSTGRESQL_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    # LIKE '%word%' selectivity is estimated from the histogram of search_name: with 1,000
    # entries instead of 100, the planner tells a common word (walk the name index) from a
    # rare one (use the trigram index).
    "ALTER TABLE operators_operator ALTER COLUMN search_name SET STATISTICS 1000",
    # One GIN index answers "country = X AND search_name LIKE '%word%'" (and the word-start
    # regex used for one- and two-letter words) without visiting the other countries' rows.
    "CREATE INDEX IF NOT EXISTS operator_directory_trgm ON operators_operator "
    f"USING gin (country, search_name gin_trgm_ops) WHERE {LISTED}",
    # Name order within a country; search_name included so that a common word is filtered
    # in the index (index-only scan) while walking it in name order.
    "CREATE INDEX IF NOT EXISTS operator_directory_country_name ON operators_operator "
    f"(country, name, id) INCLUDE (search_name) WHERE {LISTED}",
    "CREATE INDEX IF NOT EXISTS operator_directory_postcode ON operators_operator "
    f"(postcode, country) WHERE {LISTED}",
]
POSTGRESQL_REVERSE = [
    "DROP INDEX IF EXISTS operator_directory_postcode",
    "DROP INDEX IF EXISTS operator_directory_country_name",
    "DROP INDEX IF EXISTS operator_directory_trgm",
    "ALTER TABLE operators_operator ALTER COLUMN search_name SET STATISTICS -1",
]

# unicode61 splits on anything but letters and digits; search_name holds only [0-9a-z] words
# separated by single spaces, so its tokens are exactly the folded words. The country is indexed
# too (one token, "fr"), so that the match count for one country is known from the index alone
# (the selector picks its plan from it). prefix='1 2 3' keeps prefix indexes so that "dup"* is
# answered without walking every term that starts with "dup".
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS operators_operator_fts USING fts5("
    "country, search_name, content='operators_operator', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='1 2 3')",
    "CREATE TRIGGER IF NOT EXISTS operators_operator_fts_insert AFTER INSERT ON "
    "operators_operator BEGIN "
    "INSERT INTO operators_operator_fts(rowid, country, search_name) "
    "VALUES (new.id, new.country, new.search_name); "
    "END",
    "CREATE TRIGGER IF NOT EXISTS operators_operator_fts_delete AFTER DELETE ON "
    "operators_operator BEGIN "
    "INSERT INTO operators_operator_fts(operators_operator_fts, rowid, country, search_name) "
    "VALUES ('delete', old.id, old.country, old.search_name); "
    "END",
    "CREATE TRIGGER IF NOT EXISTS operators_operator_fts_update AFTER UPDATE OF country, "
    "search_name ON operators_operator BEGIN "
    "INSERT INTO operators_operator_fts(operators_operator_fts, rowid, country, search_name) "
    "VALUES ('delete', old.id, old.country, old.search_name); "
    "INSERT INTO operators_operator_fts(rowid, country, search_name) "
    "VALUES (new.id, new.country, new.search_name); "
    "END",
    "INSERT INTO operators_operator_fts(operators_operator_fts) VALUES ('rebuild')",
    "CREATE INDEX IF NOT EXISTS operator_directory_country_name ON operators_operator "
    "(country, name)",
    "CREATE INDEX IF NOT EXISTS operator_directory_postcode ON operators_operator "
    "(postcode, country)",
    # The unique index on eori is partial (eori <> ''): SQLite cannot use it for "eori = ?".
    "CREATE INDEX IF NOT EXISTS operator_directory_eori ON operators_operator (eori)",
]
SQLITE_REVERSE = [
    "DROP INDEX IF EXISTS operator_directory_eori",
    "DROP INDEX IF EXISTS operator_directory_postcode",
    "DROP INDEX IF EXISTS operator_directory_country_name",
    "DROP TRIGGER IF EXISTS operators_operator_fts_update",
    "DROP TRIGGER IF EXISTS operators_operator_fts_delete",
    "DROP TRIGGER IF EXISTS operators_operator_fts_insert",
    "DROP TABLE IF EXISTS operators_operator_fts",
]


def sqlite_fts_install(schema_editor) -> None:
    """Create (or re-create after a table rebuild) the FTS5 table, its triggers and indexes,
    and rebuild the index from the table. Idempotent."""
    for statement in SQLITE_FORWARD:
        schema_editor.execute(statement)


def backfill(apps, schema_editor):
    Operator = apps.get_model("operators", "Operator")
    rows = Operator.objects.using(schema_editor.connection.alias).only("pk", "name", "search_name")
    changed = []
    for operator in rows.order_by("pk").iterator(chunk_size=BATCH):
        folded = search_text(operator.name)[:200]
        if operator.search_name != folded:
            operator.search_name = folded
            changed.append(operator)
        if len(changed) >= BATCH:
            Operator.objects.using(schema_editor.connection.alias).bulk_update(
                changed, ["search_name"]
            )
            changed = []
    if changed:
        Operator.objects.using(schema_editor.connection.alias).bulk_update(changed, ["search_name"])


def forward(apps, schema_editor):
    backfill(apps, schema_editor)
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for statement in POSTGRESQL_FORWARD:
            schema_editor.execute(statement)
    elif vendor == "sqlite":
        sqlite_fts_install(schema_editor)


def reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}.get(vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("operators", "0005_seed_activities")]

    operations = [migrations.RunPython(forward, reverse)]
