"""The B2G API under /api/v1/b2g/, for access points and operators' B2G systems."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from comptoir.b2g.auth import b2g_client_auth
from comptoir.b2g.models import B2GClient

router = Router(tags=["b2g"])


class B2GRequest(HttpRequest):
    """What an operation receives once authenticated (for type checking)."""

    auth: B2GClient


class B2GError(Schema):
    detail: str
    code: str


class WhoAmI(Schema):
    name: str
    operator_eori: str | None


@router.get(
    "/whoami",
    auth=b2g_client_auth,
    response={200: WhoAmI, 401: B2GError},
    summary="The B2G client that this call authenticates as (to test a set-up)",
)
def whoami(request: B2GRequest):
    client = request.auth
    operator = client.operator
    return {"name": client.name, "operator_eori": operator.eori if operator else None}
