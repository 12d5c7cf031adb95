from django.db import migrations

CATALOGUE = [
    # code, English, French, German
    ("IMPORT", "Import", "Importation", "Einfuhr"),
    ("TRANSIT", "Transit", "Transit", "Versandverfahren"),
    ("TEMPORARY_STORAGE", "Temporary storage", "Stockage temporaire", "Vorübergehende Verwahrung"),
    (
        "AC4",
        "Release for free circulation",
        "Mise en libre pratique",
        "Überlassung zum zollrechtlich freien Verkehr",
    ),
    (
        "ICS",
        "Import Control System",
        "Système de contrôle des importations",
        "Einfuhrkontrollsystem",
    ),
    (
        "NATIONAL_GUARANTEE",
        "National guarantee management",
        "Gestion des garanties nationales",
        "Verwaltung nationaler Sicherheitsleistungen",
    ),
]


def seed(apps, schema_editor):
    CustomsOperation = apps.get_model("operators", "CustomsOperation")
    for position, (code, label_en, label_fr, label_de) in enumerate(CATALOGUE, start=1):
        CustomsOperation.objects.update_or_create(
            code=code,
            defaults={
                "label_en": label_en,
                "label_fr": label_fr,
                "label_de": label_de,
                "active": True,
                "ordering": position * 10,
            },
        )


def unseed(apps, schema_editor):
    CustomsOperation = apps.get_model("operators", "CustomsOperation")
    CustomsOperation.objects.filter(
        code__in=[code for code, *_labels in CATALOGUE], grants__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("operators", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
