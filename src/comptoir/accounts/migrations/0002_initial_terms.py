from django.db import migrations
from django.utils import timezone

TEXT_EN = """These terms govern your use of Comptoir, the portal through which economic operators and
the customs administration carry out onboarding and access procedures.

1. You keep your sign-in details and one-time codes to yourself and tell the service desk at once
if you think someone else knows them.
2. You give true and complete information, and you act for a company only when you are entitled to.
3. Every security-relevant action is recorded with its time, the account that made it and the
address it came from.
4. Your personal data is processed to run these procedures; you can download it from your profile.
5. The administration may publish a new version of these terms; you will be asked to accept it
before you continue."""

TEXT_FR = """Les présentes conditions régissent votre utilisation de Comptoir, le portail par lequel les
opérateurs économiques et l'administration des douanes mènent les procédures d'inscription et
d'accès.

1. Vous gardez pour vous vos identifiants et vos codes à usage unique, et vous prévenez
immédiatement le service d'assistance si vous pensez qu'un tiers les connaît.
2. Vous fournissez des informations exactes et complètes, et vous n'agissez pour une entreprise
que si vous y êtes habilité.
3. Chaque action touchant à la sécurité est enregistrée avec son heure, le compte qui l'a faite et
l'adresse d'où elle provient.
4. Vos données personnelles sont traitées pour mener ces procédures ; vous pouvez les télécharger
depuis votre profil.
5. L'administration peut publier une nouvelle version de ces conditions ; il vous sera demandé de
l'accepter avant de continuer."""

TEXT_DE = """Diese Bedingungen regeln Ihre Nutzung von Comptoir, dem Portal, über das
Wirtschaftsbeteiligte und die Zollverwaltung Registrierungs- und Zugangsverfahren abwickeln.

1. Sie behalten Ihre Anmeldedaten und Einmalcodes für sich und melden sich sofort beim
Servicedesk, wenn Sie glauben, dass jemand anderes sie kennt.
2. Sie machen wahre und vollständige Angaben und handeln nur dann für ein Unternehmen, wenn Sie
dazu berechtigt sind.
3. Jede sicherheitsrelevante Handlung wird mit Zeitpunkt, handelndem Konto und Herkunftsadresse
aufgezeichnet.
4. Ihre personenbezogenen Daten werden zur Durchführung dieser Verfahren verarbeitet; Sie können
sie in Ihrem Profil herunterladen.
5. Die Verwaltung kann eine neue Fassung dieser Bedingungen veröffentlichen; Sie werden gebeten,
sie zu akzeptieren, bevor Sie fortfahren."""


def create_first_version(apps, schema_editor):
    TermsVersion = apps.get_model("accounts", "TermsVersion")
    TermsVersion.objects.get_or_create(
        version="1.0",
        defaults={
            "title_en": "Terms of use of Comptoir",
            "title_fr": "Conditions d'utilisation de Comptoir",
            "title_de": "Nutzungsbedingungen von Comptoir",
            "text_en": TEXT_EN,
            "text_fr": TEXT_FR,
            "text_de": TEXT_DE,
            "published_at": timezone.now(),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_first_version, migrations.RunPython.noop)]
