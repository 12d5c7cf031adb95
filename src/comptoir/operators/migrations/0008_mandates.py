"""Mandates: an operator mandates a service provider for a scope and a period.

Besides the model, a guard in the database against two open (proposed or accepted) mandates of
the same principal, provider and scope whose periods overlap (the service checks it first under
a lock; this is the last line):

- PostgreSQL: an exclusion constraint over daterange(valid_from, valid_until, '[]') (an empty
  valid_until is an unbounded upper end), with the btree_gist extension for the equalities.
- SQLite: BEFORE INSERT / BEFORE UPDATE triggers that abort with "mandate_overlap".

Both raise IntegrityError, which comptoir.operators.mandates turns into the overlap message.
Beware on SQLite: a later migration that alters operators_mandate makes Django rebuild the
table, which drops the triggers: call `sqlite_overlap_install` again there
(tests/operators/test_mandates.py checks that an overlapping row is refused by the database).
"""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

POSTGRESQL_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE operators_mandate ADD CONSTRAINT mandate_no_overlap EXCLUDE USING gist "
    "(principal_id WITH =, provider_id WITH =, scope WITH =, "
    "daterange(valid_from, valid_until, '[]') WITH &&) "
    "WHERE (status IN ('proposed', 'accepted'))",
]
POSTGRESQL_REVERSE = ["ALTER TABLE operators_mandate DROP CONSTRAINT IF EXISTS mandate_no_overlap"]

_SQLITE_CHECK = (
    "WHEN NEW.status IN ('proposed', 'accepted') BEGIN "
    "SELECT RAISE(ABORT, 'mandate_overlap') WHERE EXISTS ("
    "SELECT 1 FROM operators_mandate m WHERE m.principal_id = NEW.principal_id "
    "AND m.provider_id = NEW.provider_id AND m.scope = NEW.scope "
    "AND m.status IN ('proposed', 'accepted') AND m.id <> NEW.id "
    "AND (m.valid_until IS NULL OR m.valid_until >= NEW.valid_from) "
    "AND (NEW.valid_until IS NULL OR NEW.valid_until >= m.valid_from)); END"
)
SQLITE_FORWARD = [
    "CREATE TRIGGER IF NOT EXISTS mandate_no_overlap_insert BEFORE INSERT ON operators_mandate "
    + _SQLITE_CHECK,
    "CREATE TRIGGER IF NOT EXISTS mandate_no_overlap_update BEFORE UPDATE ON operators_mandate "
    + _SQLITE_CHECK,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS mandate_no_overlap_insert",
    "DROP TRIGGER IF EXISTS mandate_no_overlap_update",
]


def sqlite_overlap_install(schema_editor) -> None:
    for statement in SQLITE_FORWARD:
        schema_editor.execute(statement)


def overlap_guard_install(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for statement in POSTGRESQL_FORWARD:
            schema_editor.execute(statement)
    elif vendor == "sqlite":
        sqlite_overlap_install(schema_editor)


def overlap_guard_remove(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}.get(vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0007_lodging_channel"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Mandate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "public_id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, unique=True, verbose_name="public id"
                    ),
                ),
                (
                    "scope",
                    models.CharField(
                        choices=[
                            ("ics2_filing", "ICS2 filing (B2G messages)"),
                            ("portal_actions", "Portal actions"),
                        ],
                        max_length=30,
                        verbose_name="scope",
                    ),
                ),
                ("valid_from", models.DateField(verbose_name="valid from")),
                (
                    "valid_until",
                    models.DateField(blank=True, null=True, verbose_name="valid until"),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("proposed", "Proposed"),
                            ("accepted", "Accepted"),
                            ("declined", "Declined"),
                            ("ended", "Ended"),
                        ],
                        default="proposed",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="proposed"
                    ),
                ),
                (
                    "accepted_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="accepted"),
                ),
                (
                    "declined_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="declined"),
                ),
                ("ended_at", models.DateTimeField(blank=True, null=True, verbose_name="ended")),
                (
                    "ended_side",
                    models.CharField(
                        blank=True,
                        choices=[("principal", "Principal"), ("provider", "Service provider")],
                        max_length=10,
                        verbose_name="ended by the side",
                    ),
                ),
                ("end_reason", models.TextField(blank=True, verbose_name="reason")),
                (
                    "accepted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="accepted by",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="proposed by",
                    ),
                ),
                (
                    "declined_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="declined by",
                    ),
                ),
                (
                    "ended_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="ended by",
                    ),
                ),
                (
                    "principal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="mandates_given",
                        to="operators.operator",
                        verbose_name="principal",
                    ),
                ),
                (
                    "provider",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="mandates_received",
                        to="operators.operator",
                        verbose_name="service provider",
                    ),
                ),
            ],
            options={
                "verbose_name": "mandate",
                "verbose_name_plural": "mandates",
                "ordering": ["-created_at", "-pk"],
                "indexes": [
                    models.Index(
                        fields=["provider", "scope", "status"],
                        name="operators_m_provide_58ec1d_idx",
                    ),
                    models.Index(
                        fields=["principal", "provider", "scope", "status"],
                        name="operators_m_princip_125179_idx",
                    ),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("status__in", ["proposed", "accepted", "declined", "ended"])
                        ),
                        name="mandate_status_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("scope__in", ["ics2_filing", "portal_actions"])),
                        name="mandate_scope_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("principal", models.F("provider")), _negated=True),
                        name="mandate_not_self",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("valid_until__isnull", True),
                            ("valid_until__gte", models.F("valid_from")),
                            _connector="OR",
                        ),
                        name="mandate_period_valid",
                    ),
                ],
            },
        ),
        migrations.RunPython(overlap_guard_install, overlap_guard_remove),
    ]
