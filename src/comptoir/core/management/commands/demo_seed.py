"""Load the demo data of the embedded default and print the demo accounts."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from comptoir.accounts import selectors, services
from comptoir.accounts.models import User
from comptoir.core.text import search_text
from comptoir.operators.mandates import mandate_accept, mandate_propose
from comptoir.operators.models import Authority, CustomsOperation, Mandate, Operator, Position
from comptoir.operators.services import operation_grant, position_appoint

DEMO_PASSWORD = "Demo-Comptoir-2026!"

# Staff people and their position at the demo administration.
DEMO_AUTHORITY_ROLES = {"officer_demo": "officer", "desk_demo": "service_desk"}

# A registered company, so that joining, inviting and changing operations can be tried at once.
DEMO_OPERATOR = {
    "eori": "FR732829320",
    "name": "Transports Durand SA",
    "country": "FR",
    "address_line1": "12 quai de la Douane",
    "postcode": "76600",
    "city": "Le Havre",
    "phone": "+33 2 35 00 00 00",
    "email": "contact@durand.demo.comptoir.invalid",
    # Lodges through its own B2G system: the fallback procedure can be tried with it.
    "lodging_channel": "b2g",
}
DEMO_OPERATOR_ROLES = {"trader_fr": Position.Role.LEGAL_REPRESENTATIVE}
DEMO_OPERATOR_OPERATIONS = ("IMPORT", "TRANSIT")

# A customs representative that Transports Durand mandates for portal actions: its legal
# representative can choose, after sign-in, to act for Durand holding that mandate.
DEMO_PROVIDER = {
    "eori": "NL811234568",
    "name": "Jansen Customs Services BV",
    "country": "NL",
    "address_line1": "Havenstraat 5",
    "postcode": "3011 AA",
    "city": "Rotterdam",
    "phone": "+31 10 000 00 00",
    "email": "contact@jansen.demo.comptoir.invalid",
}
DEMO_PROVIDER_ROLES = {"forwarder": Position.Role.LEGAL_REPRESENTATIVE}

DEMO_PEOPLE = [
    # username, first, last, language, group, superuser
    ("admin_demo", "Alix", "Admin", "en", "Administrators", True),
    ("officer_demo", "Odile", "Douane", "fr", "Customs officers", False),
    ("desk_demo", "Sami", "Support", "fr", "Service desk", False),
    ("trader_lu", "Lena", "Schmit", "de", None, False),
    ("trader_fr", "Marc", "Durand", "fr", None, False),
    ("forwarder", "Eva", "Jansen", "en", None, False),
]


class Command(BaseCommand):
    help = "Create the demo administration's people (idempotent) and print their sign-in names."

    @transaction.atomic
    def handle(self, *args, **options):
        for name in settings.COMPTOIR_STAFF_GROUPS:
            Group.objects.get_or_create(name=name)
        authority, _created = Authority.objects.get_or_create(
            code="DEMO-ADM",
            defaults={
                "name": settings.COMPTOIR_ADMINISTRATION_NAME,
                "country": "FR",
                "kind": Authority.Kind.NATIONAL_ADMINISTRATION,
            },
        )
        operator, operator_created = Operator.objects.get_or_create(
            eori=DEMO_OPERATOR["eori"],
            defaults={
                **DEMO_OPERATOR,
                "status": Operator.Status.ACTIVE,
                "search_name": search_text(DEMO_OPERATOR["name"]),
            },
        )
        if operator_created:
            for operation in CustomsOperation.objects.filter(code__in=DEMO_OPERATOR_OPERATIONS):
                operation_grant(actor=None, operator=operator, operation=operation)
        provider, _created = Operator.objects.get_or_create(
            eori=DEMO_PROVIDER["eori"],
            defaults={
                **DEMO_PROVIDER,
                "status": Operator.Status.ACTIVE,
                "search_name": search_text(DEMO_PROVIDER["name"]),
            },
        )
        terms = selectors.terms_current()
        positions: list[tuple[dict[str, str], dict[str, Any]]] = [
            (DEMO_OPERATOR_ROLES, {"operator": operator}),
            (DEMO_PROVIDER_ROLES, {"operator": provider}),
            (DEMO_AUTHORITY_ROLES, {"authority": authority}),
        ]
        for username, first, last, language, group, superuser in DEMO_PEOPLE:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@demo.comptoir.invalid".replace("_", "."),
                    "language": language,
                    "is_staff": superuser,
                    "is_superuser": superuser,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
                EmailAddress.objects.create(
                    user=user, email=user.email, verified=True, primary=True
                )
                if group:
                    user.groups.add(Group.objects.get(name=group))
                if terms is not None:
                    services.terms_accept(user=user, terms=terms, ip=None)
                for roles, organisation in positions:
                    if username in roles:
                        position_appoint(
                            actor=None, person=user, role=roles[username], **organisation
                        )
        self._portal_mandate(operator, provider)
        self.stdout.write(
            self.style.SUCCESS(f"Demo administration: {authority.name} ({authority.code})")
        )
        self.stdout.write(f"Demo company: {operator.name} (EORI {operator.eori})")
        self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        for username, first, last, _language, group, _superuser in DEMO_PEOPLE:
            role = group or (
                "legal representative of the demo company"
                if username in DEMO_OPERATOR_ROLES
                else "legal representative of its customs representative, acting for it"
                if username in DEMO_PROVIDER_ROLES
                else "person"
            )
            note = " - sets up two-factor authentication at first sign-in" if group else ""
            self.stdout.write(f"  {username:<14} {first} {last} ({role}){note}")

    @staticmethod
    def _portal_mandate(principal: Operator, provider: Operator) -> None:
        """Transports Durand mandates Jansen for portal actions, once (proposed and accepted
        through the services, with their audit events and notices)."""
        if Mandate.objects.filter(principal=principal, provider=provider).exists():
            return
        representative = User.objects.get(username=next(iter(DEMO_OPERATOR_ROLES)))
        provider_representative = User.objects.get(username=next(iter(DEMO_PROVIDER_ROLES)))
        mandate = mandate_propose(
            actor=representative,
            principal=principal,
            provider_eori=provider.eori,
            scope=Mandate.Scope.PORTAL_ACTIONS,
            valid_from=timezone.localdate(),
            valid_until=None,
        )
        mandate_accept(actor=provider_representative, mandate_id=mandate.public_id)
