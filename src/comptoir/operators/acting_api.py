"""Acting for whom in the JSON API, mounted at /api/v1/acting-for (comptoir.api).

A browser session keeps the choice (as the pages do). An API token carries no session: each call
says on whose behalf it acts with the headers `Comptoir-Acting-For: <EORI>`,
`Comptoir-Acting-Capacity: direct|mandate` and `Comptoir-Acting-Consent: yes` (a refused claim
answers 403 with code "acting_for_refused"); `POST /api/v1/acting-for` with a token checks a
choice without keeping it. Bad or refused choices answer 422 with one message per field."""

from __future__ import annotations

from typing import Any

from ninja import Router, Schema

from comptoir.core.api_types import ApiRequest, Error
from comptoir.operators import acting

router = Router(tags=["acting for whom"])

_REFUSALS = {401: Error, 403: Error}


class ActingForOut(Schema):
    actor_type: str
    identifier_type: str
    identifier: str
    capacity: str
    operator_id: int
    name: str
    mandate: str | None
    provider_name: str | None


class ActingState(Schema):
    #: None: the person acts for themself.
    acting_for: ActingForOut | None
    options: list[ActingForOut]


class ActingChoice(Schema):
    myself: bool = False
    actor_type: str = acting.ACTOR_TYPE_EO
    identifier_type: str = acting.IDENTIFIER_TYPE_EORI
    identifier: str = ""
    capacity: str = ""
    consent: bool = False


class ActingChosen(Schema):
    acting_for: ActingForOut | None
    #: True when a browser session keeps the choice; False for a token (send the headers).
    kept: bool


def _out(choice: acting.ActingFor | None) -> dict[str, Any] | None:
    if choice is None:
        return None
    return {
        "actor_type": choice.actor_type,
        "identifier_type": choice.identifier_type,
        "identifier": choice.identifier,
        "capacity": choice.capacity,
        "operator_id": choice.operator_id,
        "name": choice.name,
        "mandate": choice.mandate or None,
        "provider_name": choice.provider_name or None,
    }


def _with_session(request: ApiRequest) -> bool:
    return not acting.acting_token_call(headers=request.headers)


@router.get(
    "",
    response={200: ActingState, **_REFUSALS},
    summary="On whose behalf this call acts, and whom the person may act for",
)
def acting_state(request: ApiRequest):
    return {
        "acting_for": _out(getattr(request, "acting_for", None)),
        "options": [_out(option) for option in acting.acting_options(person=request.auth)],
    }


@router.post(
    "",
    response={200: ActingChosen, **_REFUSALS},
    summary="Choose on whose behalf to act: kept by a browser session, checked for a token",
)
def acting_choose(request: ApiRequest, payload: ActingChoice):
    kept = _with_session(request)
    if payload.myself:
        if kept:
            acting.acting_choose_myself(person=request.auth, session=request.session)
        return {"acting_for": None, "kept": kept}
    if kept:
        chosen = acting.acting_choose(
            person=request.auth,
            session=request.session,
            identifier=payload.identifier,
            capacity=payload.capacity,
            consent=payload.consent,
            actor_type=payload.actor_type,
            identifier_type=payload.identifier_type,
        )
    else:
        chosen = acting.acting_check(
            person=request.auth,
            identifier=payload.identifier,
            capacity=payload.capacity,
            actor_type=payload.actor_type,
            identifier_type=payload.identifier_type,
        )
        if not payload.consent:
            raise acting.consent_refused()
    return {"acting_for": _out(chosen), "kept": kept}
