"""The declaration types offered at first, each mapped to the customs operation it needs (codes
of operators/migrations/0002_seed_customs_operations.py) and to its MRN procedure letter.
Administrators edit the catalogue afterwards; `seed` is also called by tests that flush the
database (browser tests)."""

from django.db import migrations

CATALOGUE = [
    # code, operation, procedure letter, English, French, German
    (
        "IMPORT",
        "IMPORT",
        "R",
        "Import declaration",
        "Déclaration d'importation",
        "Einfuhranmeldung",
    ),
    (
        "ENTRY_SUMMARY",
        "ICS",
        "T",
        "Entry summary declaration (ICS)",
        "Déclaration sommaire d'entrée (ICS)",
        "Summarische Eingangsanmeldung (ICS)",
    ),
    (
        "TRANSIT",
        "TRANSIT",
        "J",
        "Transit declaration",
        "Déclaration de transit",
        "Versandanmeldung",
    ),
    (
        "TEMPORARY_STORAGE",
        "TEMPORARY_STORAGE",
        "U",
        "Temporary storage declaration",
        "Déclaration de dépôt temporaire",
        "Anmeldung zur vorübergehenden Verwahrung",
    ),
]


def seed(apps, schema_editor):
    CustomsOperation = apps.get_model("operators", "CustomsOperation")
    DeclarationType = apps.get_model("lodging", "DeclarationType")
    for position, (code, operation, letter, label_en, label_fr, label_de) in enumerate(
        CATALOGUE, start=1
    ):
        operation_row = CustomsOperation.objects.filter(code=operation).first()
        if operation_row is None:
            continue
        DeclarationType.objects.update_or_create(
            code=code,
            defaults={
                "operation": operation_row,
                "procedure_letter": letter,
                "label_en": label_en,
                "label_fr": label_fr,
                "label_de": label_de,
                "active": True,
                "ordering": position * 10,
            },
        )


def unseed(apps, schema_editor):
    DeclarationType = apps.get_model("lodging", "DeclarationType")
    DeclarationType.objects.filter(
        code__in=[code for code, *_rest in CATALOGUE], declarations__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("lodging", "0001_initial"),
        ("operators", "0002_seed_customs_operations"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
