"""Read side of the certificates app. The B2G check (a system client, not a person) reads
identities and active certificates by EORI; person-scoped listings come with the pages."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from comptoir.certificates.models import Certificate, EoriIdentity


def eori_identity_by_identifier(identifier: str) -> EoriIdentity | None:
    return EoriIdentity.objects.filter(identifier=identifier).select_related("operator").first()


def certificates_active_for(*, identifier: str, at: datetime) -> QuerySet[Certificate]:
    """The ACTIVE certificates of the EORI identity, within their validity at that moment."""
    return Certificate.objects.filter(
        identity__identifier=identifier,
        status=Certificate.Status.ACTIVE,
        not_before__lte=at,
        not_after__gte=at,
    )
