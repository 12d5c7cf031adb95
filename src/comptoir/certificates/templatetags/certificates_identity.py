"""For pages of lower layers that show an operator's EORI identity (the company page)."""

from __future__ import annotations

from django import template

from comptoir.certificates import identities
from comptoir.operators.models import Operator

register = template.Library()


@register.simple_tag
def eori_identity_holder_of(operator: Operator) -> Operator | None:
    """The other space whose identity holds this operator's EORI number, if any."""
    return identities.eori_identity_holder(operator=operator)
