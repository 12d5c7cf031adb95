"""Mandates in a company's professional space: the mandates it gave and received, give one
(question page, check your answers, confirmation), accept, decline or end one (confirmation
pages). Views check the input's shape and call one service; the operator comes from
space_view (404 outside the person's spaces), the mandate from a scoped selector (404 unless
that operator gave or received it)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from comptoir.core.forms import form_add_service_errors
from comptoir.operators import mandate_forms as forms
from comptoir.operators import mandates
from comptoir.operators.models import Mandate, Operator, Position
from comptoir.operators.views import AuthenticatedRequest, not_allowed_in_space, space_view

SESSION_KEY = "mandate_new"


def _posted(request: AuthenticatedRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _valid(acting: Position | None) -> bool:
    return acting is not None and acting.status == Position.Status.VALID


def _suspended(request: AuthenticatedRequest, operator: Operator) -> HttpResponse:
    return not_allowed_in_space(request, operator, _("Your position in this company is suspended."))


def _not_manager(request: AuthenticatedRequest, operator: Operator) -> HttpResponse:
    return not_allowed_in_space(
        request,
        operator,
        _("Only the company's legal representative and its managers can manage its mandates."),
    )


def _mandate(request: AuthenticatedRequest, operator: Operator, mandate_id: Any) -> Mandate:
    try:
        return mandates.mandate_for_person(
            person=request.user, mandate_id=mandate_id, operator=operator
        )
    except Mandate.DoesNotExist:
        raise Http404 from None


def _row(request: AuthenticatedRequest, operator: Operator, mandate: Mandate) -> dict[str, Any]:
    given = mandate.principal_id == operator.pk
    state = mandates.mandate_state(mandate)
    return {
        "mandate": mandate,
        "given": given,
        "other": mandate.provider if given else mandate.principal,
        "state": state,
        "state_label": mandates.STATE_LABELS.get(state, mandate.get_status_display()),
        "actions": mandates.mandate_actions(
            person=request.user, mandate=mandate, operator=operator
        ),
    }


# --- Lists and details --------------------------------------------------------------------------


@space_view()
def mandate_list(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None
) -> HttpResponse:
    if not _valid(acting):
        return _suspended(request, operator)
    return render(
        request,
        "operators/mandates/list.html",
        {
            "operator": operator,
            "can_manage": mandates.mandate_can_manage(person=request.user, operator=operator),
            "given": [
                _row(request, operator, item) for item in mandates.mandates_given(operator=operator)
            ],
            "received": [
                _row(request, operator, item)
                for item in mandates.mandates_received(operator=operator)
            ],
        },
    )


@space_view()
def mandate_detail(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None, mandate_id: Any
) -> HttpResponse:
    if not _valid(acting):
        return _suspended(request, operator)
    mandate = _mandate(request, operator, mandate_id)
    return render(
        request,
        "operators/mandates/detail.html",
        {"operator": operator, "row": _row(request, operator, mandate)},
    )


# --- Give a mandate -----------------------------------------------------------------------------


def _answers(request: AuthenticatedRequest, operator: Operator) -> dict[str, Any]:
    stored = request.session.get(SESSION_KEY) or {}
    return dict(stored.get(str(operator.pk)) or {})


def _save(request: AuthenticatedRequest, operator: Operator, answers: dict[str, Any]) -> None:
    stored = dict(request.session.get(SESSION_KEY) or {})
    stored[str(operator.pk)] = answers
    request.session[SESSION_KEY] = stored


def _forget(request: AuthenticatedRequest, operator: Operator) -> None:
    stored = dict(request.session.get(SESSION_KEY) or {})
    stored.pop(str(operator.pk), None)
    request.session[SESSION_KEY] = stored


def _proposal_arguments(answers: dict[str, Any]) -> dict[str, Any]:
    until = answers.get("valid_until")
    return {
        "provider_eori": answers.get("provider_eori", ""),
        "scope": answers.get("scope", ""),
        "valid_from": date.fromisoformat(answers["valid_from"])
        if answers.get("valid_from")
        else None,
        "valid_until": date.fromisoformat(until) if until else None,
    }


@space_view()
def mandate_new(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None
) -> HttpResponse:
    if not _valid(acting):
        return _suspended(request, operator)
    if not mandates.mandate_can_manage(person=request.user, operator=operator):
        return _not_manager(request, operator)
    form = forms.MandateForm(_posted(request), initial=_answers(request, operator))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            mandates.mandate_proposal_check(
                actor=request.user,
                principal=operator,
                provider_eori=data["provider_eori"],
                scope=data["scope"],
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
            )
        except mandates.MandateNotAllowed as exc:
            return not_allowed_in_space(request, operator, exc.message)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            _save(
                request,
                operator,
                {
                    "provider_eori": data["provider_eori"],
                    "scope": data["scope"],
                    "valid_from": data["valid_from"].isoformat(),
                    "valid_until": data["valid_until"].isoformat() if data["valid_until"] else "",
                },
            )
            return redirect("mandates:check", operator_id=operator.pk)
    return render(
        request,
        "operators/mandates/new.html",
        {"operator": operator, "form": form},
        status=422 if form.errors else 200,
    )


@space_view()
def mandate_check(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None
) -> HttpResponse:
    if not _valid(acting):
        return _suspended(request, operator)
    if not mandates.mandate_can_manage(person=request.user, operator=operator):
        return _not_manager(request, operator)
    answers = _answers(request, operator)
    if not answers.get("provider_eori"):
        return redirect("mandates:new", operator_id=operator.pk)
    try:
        arguments = _proposal_arguments(answers)
    except ValueError:
        _forget(request, operator)
        return redirect("mandates:new", operator_id=operator.pk)
    errors: list[str] = []
    proposal = None
    try:
        proposal = mandates.mandate_proposal_check(
            actor=request.user, principal=operator, **arguments
        )
    except mandates.MandateNotAllowed as exc:
        return not_allowed_in_space(request, operator, exc.message)
    except ValidationError as exc:
        errors = [str(message) for message in exc.messages]
    if request.method == "POST" and not errors:
        try:
            mandate = mandates.mandate_propose(actor=request.user, principal=operator, **arguments)
        except mandates.MandateNotAllowed as exc:
            return not_allowed_in_space(request, operator, exc.message)
        except ValidationError as exc:
            errors = [str(message) for message in exc.messages]
        else:
            _forget(request, operator)
            return redirect("mandates:done", operator_id=operator.pk, mandate_id=mandate.public_id)
    return render(
        request,
        "operators/mandates/check.html",
        {
            "operator": operator,
            "proposal": proposal,
            "answers": arguments,
            "scope_label": Mandate.Scope(arguments["scope"]).label
            if arguments["scope"] in Mandate.Scope.values
            else arguments["scope"],
            "errors": errors,
        },
        status=422 if errors and request.method == "POST" else 200,
    )


@space_view()
def mandate_done(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None, mandate_id: Any
) -> HttpResponse:
    if not _valid(acting):
        return _suspended(request, operator)
    mandate = _mandate(request, operator, mandate_id)
    if mandate.principal_id != operator.pk:
        raise Http404
    return render(
        request, "operators/mandates/done.html", {"operator": operator, "mandate": mandate}
    )


# --- Accept, decline, end -----------------------------------------------------------------------


def _action_page(
    request: AuthenticatedRequest,
    operator: Operator,
    acting: Position | None,
    mandate_id: Any,
    action: str,
) -> HttpResponse:
    if not _valid(acting):
        return _suspended(request, operator)
    mandate = _mandate(request, operator, mandate_id)
    if not mandates.mandate_can_manage(person=request.user, operator=operator):
        return _not_manager(request, operator)
    row = _row(request, operator, mandate)
    if action not in row["actions"]:
        if action in ("accept", "decline") and mandate.principal_id == operator.pk:
            return not_allowed_in_space(
                request,
                operator,
                _("Only the service provider's legal representative and managers can accept it.")
                if action == "accept"
                else _(
                    "Only the service provider's legal representative and managers can decline it."
                ),
            )
        messages.error(
            request,
            str(mandates.MandateClosed(status=mandate.status).message),
        )
        return redirect("mandates:detail", operator_id=operator.pk, mandate_id=mandate.public_id)
    form = (
        forms.ReasonForm(_posted(request), required=action == "end")
        if action in ("decline", "end")
        else None
    )
    if request.method == "POST" and (form is None or form.is_valid()):
        reason = form.cleaned_data["reason"] if form is not None else ""
        side = Mandate.Side.PRINCIPAL if row["given"] else Mandate.Side.PROVIDER
        try:
            if action == "accept":
                mandates.mandate_accept(actor=request.user, mandate_id=mandate.public_id)
            elif action == "decline":
                mandates.mandate_decline(
                    actor=request.user, mandate_id=mandate.public_id, reason=reason
                )
            else:
                mandates.mandate_end(
                    actor=request.user, mandate_id=mandate.public_id, reason=reason, side=side
                )
        except Mandate.DoesNotExist:
            raise Http404 from None
        except mandates.MandateNotAllowed as exc:
            return not_allowed_in_space(request, operator, exc.message)
        except mandates.MandateClosed as exc:
            messages.error(request, str(exc.message))
            return redirect(
                "mandates:detail", operator_id=operator.pk, mandate_id=mandate.public_id
            )
        except ValidationError as exc:
            if form is None:
                for message in exc.messages:
                    messages.error(request, message)
                return redirect(
                    "mandates:detail", operator_id=operator.pk, mandate_id=mandate.public_id
                )
            form_add_service_errors(form, exc)
        else:
            done = {
                "accept": _("You have accepted the mandate %(reference)s from %(name)s."),
                "decline": _("You have declined the mandate %(reference)s from %(name)s."),
                "end": _("You have ended the mandate %(reference)s with %(name)s."),
            }[action]
            messages.success(
                request, done % {"reference": mandate.reference, "name": row["other"].name}
            )
            return redirect("mandates:list", operator_id=operator.pk)
    titles = {
        "accept": _("Accept this mandate"),
        "decline": _("Decline this mandate"),
        "end": _("End this mandate"),
    }
    return render(
        request,
        "operators/mandates/confirm.html",
        {
            "operator": operator,
            "row": row,
            "action": action,
            "title": titles[action],
            "form": form,
        },
        status=422 if form is not None and form.errors else 200,
    )


@space_view()
def mandate_accept(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None, mandate_id: Any
) -> HttpResponse:
    return _action_page(request, operator, acting, mandate_id, "accept")


@space_view()
def mandate_decline(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None, mandate_id: Any
) -> HttpResponse:
    return _action_page(request, operator, acting, mandate_id, "decline")


@space_view()
def mandate_end(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None, mandate_id: Any
) -> HttpResponse:
    return _action_page(request, operator, acting, mandate_id, "end")
