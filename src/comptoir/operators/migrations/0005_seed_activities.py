from django.db import migrations

SECTIONS = [
    # code, English, French, German, [(type code, English, French, German)]
    (
        "PLANT_HEALTH",
        "Plant health",
        "Santé des végétaux",
        "Pflanzengesundheit",
        [
            (
                "EUPO",
                "Professional operator (EU)",
                "Opérateur professionnel (UE)",
                "Unternehmer (EU)",
            ),
            (
                "EURPO",
                "Registered professional operator (EU)",
                "Opérateur professionnel enregistré (UE)",
                "Registrierter Unternehmer (EU)",
            ),
            (
                "QUA-CONF",
                "Quarantine or confinement station",
                "Station de quarantaine ou de confinement",
                "Quarantäne- oder Sicherheitsstation",
            ),
            (
                "PLANTS",
                "Plants and plant products",
                "Végétaux et produits végétaux",
                "Pflanzen und Pflanzenerzeugnisse",
            ),
        ],
    ),
    (
        "CITES",
        "CITES (endangered species)",
        "CITES (espèces menacées)",
        "CITES (gefährdete Arten)",
        [("EU_CITES", "CITES trader (EU)", "Commerçant CITES (UE)", "CITES-Händler (EU)")],
    ),
    (
        "ORGANIC",
        "Organic imports",
        "Importations biologiques",
        "Ökologische Einfuhren",
        [
            (
                "ORGANIC IMPORTER",
                "Organic importer",
                "Importateur biologique",
                "Importeur ökologischer Erzeugnisse",
            )
        ],
    ),
    (
        "FLEGT",
        "FLEGT timber",
        "Bois FLEGT",
        "FLEGT-Holz",
        [
            (
                "FLEGT",
                "FLEGT-licensed timber importer",
                "Importateur de bois sous licence FLEGT",
                "Importeur von Holz mit FLEGT-Genehmigung",
            )
        ],
    ),
]


def seed(apps, schema_editor):
    ActivitySection = apps.get_model("operators", "ActivitySection")
    ActivityType = apps.get_model("operators", "ActivityType")
    for position, (code, en, fr, de, types) in enumerate(SECTIONS, start=1):
        section, _created = ActivitySection.objects.update_or_create(
            code=code,
            defaults={"label_en": en, "label_fr": fr, "label_de": de, "ordering": position * 10},
        )
        for order, (type_code, type_en, type_fr, type_de) in enumerate(types, start=1):
            ActivityType.objects.update_or_create(
                section=section,
                code=type_code,
                defaults={
                    "label_en": type_en,
                    "label_fr": type_fr,
                    "label_de": type_de,
                    "active": True,
                    "ordering": order * 10,
                },
            )


def unseed(apps, schema_editor):
    ActivitySection = apps.get_model("operators", "ActivitySection")
    ActivityType = apps.get_model("operators", "ActivityType")
    codes = [code for code, *_rest in SECTIONS]
    ActivityType.objects.filter(section__code__in=codes, operator_activities__isnull=True).delete()
    ActivitySection.objects.filter(code__in=codes, activity_types__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("operators", "0004_directory_activities")]

    operations = [migrations.RunPython(seed, unseed)]
