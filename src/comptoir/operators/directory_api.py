"""The operator directory in the JSON API: search it (GET /directory) and create an operator that
is not found together with a role request there (POST /directory/operators). Mounted on the main
API (comptoir.api) with `api.add_router("", router)`; authentication comes from there. Bad input
answers 422 with one message per field (the main API's ValidationError handler); an EORI number
already held, or likely duplicates not confirmed, answer 409 naming the operators concerned."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from comptoir.approvals.directory import operator_create_in_directory
from comptoir.operators.api import ApiRequest, Error, RequestOut, _request_out
from comptoir.operators.directory import (
    EoriTaken,
    LikelyDuplicates,
    directory_paginator,
    operator_activity_lines,
)
from comptoir.operators.directory_forms import DirectorySearchForm
from comptoir.operators.models import Operator

router = Router(tags=["directory"])

_REFUSALS = {401: Error, 403: Error}


class ActivityOut(Schema):
    section: str
    section_label: str
    code: str
    label: str
    identifier: str


class DirectoryOperatorOut(Schema):
    id: int
    name: str
    eori: str
    national_id: str
    country: str
    region: str
    city: str
    address_line1: str
    address_line2: str
    postcode: str
    activities: list[ActivityOut]


class DirectoryPageOut(Schema):
    count: int = Field(description="How many operators match, counted up to 1000")
    more: bool = Field(description="True when more than 1000 operators match")
    page: int
    pages: int
    page_size: int
    results: list[DirectoryOperatorOut]


class DirectoryOperatorIn(Schema):
    """An operator that is not in the directory, and the role the caller asks for there."""

    name: str = ""
    country: str = ""
    region: str = ""
    city: str = ""
    address_line1: str = ""
    address_line2: str = ""
    postcode: str = ""
    phone: str = ""
    fax: str = ""
    email: str = ""
    website: str = ""
    latitude: float | str | None = None
    longitude: float | str | None = None
    eori: str = Field("", description="Required for an operator established in the EU")
    national_id: str = Field(
        "", description="For an operator outside the EU without an EORI number"
    )
    role: str = Field("", description="manager or employee")
    message: str = ""
    contact_email: str = Field("", description="Your email address for this request")
    contact_phone: str = Field("", description="Your phone number for this request")
    confirm_duplicate: bool = Field(
        False, description="Create it even though operators with a similar name and postcode exist"
    )


class DirectoryCreatedOut(Schema):
    operator: DirectoryOperatorOut
    request: RequestOut


class ConflictOut(Schema):
    detail: str
    code: str = Field(description="eori_taken or likely_duplicates")
    operators: list[DirectoryOperatorOut]


def _operator_out(operator: Operator, *, activities: bool = True) -> dict[str, Any]:
    language = (get_language() or "en")[:2]
    return {
        "id": operator.pk,
        "name": operator.name,
        "eori": operator.eori,
        "national_id": operator.national_id,
        "country": operator.country,
        "region": operator.region,
        "city": operator.city,
        "address_line1": operator.address_line1,
        "address_line2": operator.address_line2,
        "postcode": operator.postcode,
        "activities": [
            line.__dict__ for line in operator_activity_lines(operator=operator, language=language)
        ]
        if activities
        else [],
    }


def _form_errors(form: DirectorySearchForm) -> ValidationError:
    return ValidationError(
        {field: [str(message) for message in messages] for field, messages in form.errors.items()}
    )


@router.get(
    "/directory",
    response={200: DirectoryPageOut, **_REFUSALS},
    summary="Search the directory of operators (country required), 20 per page",
)
def directory_search(
    request: ApiRequest,
    country: str = "",
    name: str = "",
    eori: str = "",
    section: str = "",
    activity_type: str = "",
    page: int = 1,
):
    form = DirectorySearchForm(
        {
            "country": country,
            "name": name,
            "eori": eori,
            "section": section,
            "activity_type": activity_type,
        }
    )
    if not form.is_valid():
        raise _form_errors(form)
    if page < 1:
        raise ValidationError({"page": [_("Enter a page number of 1 or more.")]})
    paginator = directory_paginator(**form.cleaned_data)
    try:
        results = paginator.page(page).object_list
    except EmptyPage:
        results = []
    return {
        "count": paginator.count,
        "more": paginator.more,
        "page": page,
        "pages": paginator.num_pages,
        "page_size": paginator.per_page,
        "results": [_operator_out(operator) for operator in results],
    }


@router.post(
    "/directory/operators",
    response={201: DirectoryCreatedOut, 409: ConflictOut, **_REFUSALS},
    summary="Create an operator not found in the directory and ask for a role there",
)
def directory_operator_create(request: ApiRequest, payload: DirectoryOperatorIn):
    data = payload.model_dump()
    role = data.pop("role")
    message = data.pop("message")
    contact_email = data.pop("contact_email")
    contact_phone = data.pop("contact_phone")
    confirm_duplicate = data.pop("confirm_duplicate")
    for key in ("latitude", "longitude"):
        data[key] = "" if data[key] is None else str(data[key])
    try:
        operator, submitted = operator_create_in_directory(
            requester=request.auth,
            role=role,
            message=message,
            contact_email=contact_email,
            contact_phone=contact_phone,
            confirm_duplicate=confirm_duplicate,
            **data,
        )
    except EoriTaken as exc:
        return Status(
            409,
            {
                "detail": " ".join(exc.messages),
                "code": "eori_taken",
                "operators": [_operator_out(exc.operator, activities=False)],
            },
        )
    except LikelyDuplicates as exc:
        return Status(
            409,
            {
                "detail": _(
                    "Operators with the same postcode and a similar name are already in the "
                    "directory: if one of them is yours, request a role there (POST "
                    "/api/v1/positions); else send the request again with "
                    '"confirm_duplicate": true.'
                ),
                "code": "likely_duplicates",
                "operators": [_operator_out(operator) for operator in exc.operators],
            },
        )
    return Status(
        201,
        {"operator": _operator_out(operator, activities=False), "request": _request_out(submitted)},
    )
