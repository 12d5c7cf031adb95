"""Read B2G clients (for the commands and the admin; the B2G API reads through its auth)."""

from __future__ import annotations

from django.db.models import QuerySet

from comptoir.b2g.models import B2GClient
from comptoir.core.identifiers import eori_normalise
from comptoir.operators.models import Operator


def b2g_clients_list() -> QuerySet[B2GClient]:
    return B2GClient.objects.select_related("operator").order_by("name")


def b2g_operator_by_eori(*, eori: str) -> Operator | None:
    """The operator with this EORI number (spaces and case do not matter), or None."""
    normalised = eori_normalise(value=eori)
    if not normalised:
        return None
    return Operator.objects.filter(eori=normalised).first()
