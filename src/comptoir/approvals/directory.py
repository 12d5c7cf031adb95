"""Creating an operator from the directory together with the requester's role request: one step,
one transaction. It lives in approvals because it submits a request (approvals sits above
operators); the operator's own checks and write are comptoir.operators.directory."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request
from comptoir.operators.directory import operator_directory_create
from comptoir.operators.models import Operator, Position

#: The roles a person may ask for at an operator they create in the directory.
DIRECTORY_ROLES = (Position.Role.MANAGER, Position.Role.EMPLOYEE)


@transaction.atomic
def operator_create_in_directory(
    *,
    requester: User,
    role: str,
    message: str = "",
    contact_email: str = "",
    contact_phone: str = "",
    confirm_duplicate: bool = False,
    **details: Any,
) -> tuple[Operator, Request]:
    """Create an active operator and submit the requester's role request (manager or employee)
    at it, in one transaction: both commit, with their audit events and notices, or nothing
    does.

    `details` are the operator's (operators.directory.operator_directory_create checks them, the
    EORI number and likely duplicates: ValidationError, EoriTaken, LikelyDuplicates unless
    `confirm_duplicate`). `message`, `contact_email` and `contact_phone` are the requester's,
    for the deciders (approvals.services.role_request_submit: nobody works for the new operator
    yet, so the national authority of its country validates the role)."""
    if role not in DIRECTORY_ROLES:
        raise ValidationError({"role": [_("Choose the role you ask for: manager or employee.")]})
    operator = operator_directory_create(
        actor=requester, confirm_duplicate=confirm_duplicate, **details
    )
    try:
        request = approvals.role_request_submit(
            requester=requester,
            role=role,
            operator=operator,
            message=message,
            email=contact_email,
            phone=contact_phone,
        )
    except ValidationError as exc:
        # Here "email" and "phone" are the operator's: the requester's are contact_*.
        if not hasattr(exc, "error_dict"):
            raise
        raise ValidationError(
            {
                _CONTACT_FIELDS.get(field, field): messages
                for field, messages in exc.message_dict.items()
            }
        ) from exc
    return operator, request


_CONTACT_FIELDS = {"email": "contact_email", "phone": "contact_phone"}
