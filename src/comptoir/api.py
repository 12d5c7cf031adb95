"""The versioned JSON API: /api/v1/, schema at /api/v1/openapi.json.

Two ways in: the browser session (CSRF checked on unsafe methods) and a personal API token
(`Authorization: Bearer cpt_…`). Both pass through the same account gate as the web pages
(selectors.account_gate): staff without TOTP and people who have not accepted the current terms
of use get 403 with a machine-readable code."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer
from pydantic import field_validator

from comptoir.accounts import selectors, services
from comptoir.accounts.middleware import use_person_language
from comptoir.accounts.models import ApiToken, User
from comptoir.b2g.auth import install_exception_handler
from comptoir.core import request_context
from comptoir.core.api_types import ApiRequest, Error
from comptoir.core.database import DATABASE_UNAVAILABLE
from comptoir.operators import acting


class AccountGateRefused(Exception):
    """The person is known but must do something in the portal first."""

    def __init__(self, gate: selectors.AccountGate) -> None:
        super().__init__(gate.code)
        self.gate = gate


class ActingForRefused(Exception):
    """The call's Comptoir-Acting-For headers claim a choice the person may not make."""

    def __init__(self, refusal: acting.ActingRefused) -> None:
        super().__init__(refusal.code)
        self.refusal = refusal


def _admit(request: HttpRequest, user: User) -> User:
    gate = selectors.account_gate(user=user)
    if gate is not None:
        raise AccountGateRefused(gate)
    try:
        claimed = acting.acting_from_headers(person=user, headers=request.headers)
    except acting.ActingRefused as refusal:
        raise ActingForRefused(refusal) from None
    if claimed is not None:
        request.acting_for = claimed  # type: ignore[attr-defined]
        # Undone at the end of the request by ActingForMiddleware's own binding.
        request_context.bind_on_behalf_of(claimed.record())
    return user


class PersonalTokenAuth(HttpBearer):
    """Authorization: Bearer <personal API token>. A token that is sent but unknown or revoked
    answers 401 at once, even when a session cookie comes along."""

    def authenticate(self, request: HttpRequest, token: str) -> User:
        user = services.api_token_authenticate(clear=token.strip())
        if user is None:
            raise AuthenticationError()
        request.user = user
        use_person_language(request, user)
        return _admit(request, user)


class SessionAuth(APIKeyCookie):
    """The browser session (CSRF checked on unsafe methods)."""

    def __init__(self) -> None:
        self.param_name = settings.SESSION_COOKIE_NAME
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a session cookie there is nobody to protect from CSRF: answer 401, not 403.
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        if key is None or not request.user.is_authenticated:
            return None
        return _admit(request, request.user)


api = NinjaAPI(
    title="Comptoir API",
    version="1",
    description="Onboarding and access portal for customs administrations and economic operators.",
    urls_namespace="api-1",
    auth=[PersonalTokenAuth(), SessionAuth()],
)


# B2G refusals answer 401 with {"detail", "code"}, whichever router uses b2g_client_auth.
install_exception_handler(api)


@api.exception_handler(AccountGateRefused)
def _gate_refused(request: HttpRequest, exc: AccountGateRefused) -> HttpResponse:
    return api.create_response(request, exc.gate.payload(), status=403)


logger = logging.getLogger("comptoir.api")
#: Seconds a client is asked to wait before trying again when the database cannot be reached.
UNAVAILABLE_RETRY_AFTER = 30


def _database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The database cannot be reached: 503 with a code and Retry-After, not a server error (the
    B2G checks answer A003 themselves, in their own shape)."""
    logger.error("API %s %s: database unavailable: %s", request.method, request.path, exc)
    response = api.create_response(
        request,
        {
            "detail": _("The service cannot reach its database. Try again in a moment."),
            "code": "unavailable",
        },
        status=503,
    )
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


for _unavailable in DATABASE_UNAVAILABLE:
    api.add_exception_handler(_unavailable, _database_unavailable)  # type: ignore[arg-type,type-var]


@api.exception_handler(ActingForRefused)
def _acting_for_refused(request: HttpRequest, exc: ActingForRefused) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": exc.refusal.message_text, "code": "acting_for_refused"},
        status=403,
    )


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    detail = [
        {"loc": ["body", field], "msg": message, "type": "value_error"}
        for field, messages in exc.message_dict.items()
        for message in messages
    ]
    return api.create_response(request, {"detail": detail}, status=422)


class Me(Schema):
    username: str
    first_name: str
    last_name: str
    email: str
    phone: str
    postal_address: str
    language: str
    two_factor_enabled: bool
    staff: bool


class MeUpdate(Schema):
    """Only the details given change."""

    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    postal_address: str | None = None
    language: str | None = None

    @field_validator("first_name", "last_name", "phone", "postal_address")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None

    @field_validator("first_name")
    @classmethod
    def _first_name(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError(_("Enter your first name."))
        if value is not None and len(value) > 150:
            raise ValueError(_("Enter a first name of 150 characters or fewer."))
        return value

    @field_validator("last_name")
    @classmethod
    def _last_name(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError(_("Enter your last name."))
        if value is not None and len(value) > 150:
            raise ValueError(_("Enter a last name of 150 characters or fewer."))
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        codes = [code for code, _name in settings.LANGUAGES]
        if value is not None and value not in codes:
            raise ValueError(_("Choose one of: %(codes)s.") % {"codes": ", ".join(codes)})
        return value


class Token(Schema):
    id: int
    name: str
    hint: str
    created_at: datetime
    last_used_at: datetime | None


def _me(user: User) -> dict[str, Any]:
    return {
        **selectors.person_contact(user=user),
        "two_factor_enabled": selectors.user_has_totp(user=user),
        "staff": user.is_portal_staff,
    }


_REFUSALS = {401: Error, 403: Error}


@api.get(
    "/me",
    response={200: Me, **_REFUSALS},
    tags=["people"],
    summary="The signed-in person's profile",
)
def me(request: ApiRequest):
    return _me(request.auth)


@api.patch(
    "/me",
    response={200: Me, **_REFUSALS},
    tags=["people"],
    summary="Change the signed-in person's details",
)
def me_update(request: ApiRequest, payload: MeUpdate):
    user = services.profile_update(
        user=request.auth, actor=request.auth, **payload.model_dump(exclude_unset=True)
    )
    return _me(user)


@api.get(
    "/tokens",
    response={200: list[Token], **_REFUSALS},
    tags=["people"],
    summary="The signed-in person's active personal API tokens",
)
def tokens(request: ApiRequest):
    return selectors.api_tokens_active(user=request.auth)


@api.delete(
    "/tokens/{token_id}",
    response={204: None, **_REFUSALS, 404: Error},
    tags=["people"],
    summary="Revoke one of the signed-in person's personal API tokens",
)
def token_revoke(request: ApiRequest, token_id: int):
    try:
        services.api_token_revoke(user=request.auth, token_id=token_id)
    except ApiToken.DoesNotExist as exc:
        raise HttpError(404, "Not Found") from exc
    return Status(204, None)


# The B2G routes first: every B2G message is checked through them, and URL resolution tries the
# routes in the order they were added.
api.add_router("/b2g", "comptoir.b2g.api.router")
api.add_router("/b2g", "comptoir.b2g.authorisation_api.router")
api.add_router("/b2g", "comptoir.b2g.verify_api.router")
api.add_router("", "comptoir.operators.api.router")
api.add_router("", "comptoir.operators.invitation_api.router")
api.add_router("", "comptoir.operators.directory_api.router")
api.add_router("", "comptoir.operators.roles_api.router")
api.add_router("/mandates", "comptoir.operators.mandate_api.router")
api.add_router("/acting-for", "comptoir.operators.acting_api.router")
api.add_router("/requests", "comptoir.approvals.api.router")
api.add_router("/notices", "comptoir.notifications.api.router")
api.add_router("/dashboard", "comptoir.notifications.dashboard_api.router")
api.add_router("", "comptoir.continuity.api.router")
api.add_router("", "comptoir.lodging.api.router")
api.add_router("/certificates", "comptoir.certificates.api.router")
api.add_router("/certificate-access", "comptoir.certificates.rights_api.router")
