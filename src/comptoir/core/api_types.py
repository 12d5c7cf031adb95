"""What the routers of the API share: the body of an error answer and the request as an
operation receives it once the person is authenticated (for type checking)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from ninja import Schema

if TYPE_CHECKING:
    from comptoir.accounts.models import User


class Error(Schema):
    detail: str
    code: str | None = None


class ApiRequest(HttpRequest):
    auth: User
