"""Forms of the deciders' work queue: filters, a decision, a reassignment."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from comptoir.approvals.handlers import HANDLERS
from comptoir.approvals.models import Request
from comptoir.operators.models import Authority, CustomsOperation

REASON_MAX = 2000


class QueueFilterForm(forms.Form):
    """Sent with GET; every filter is optional. Without a status, only waiting requests."""

    q = forms.CharField(
        label=_("Search by EORI number, operator name or reference"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "input"}),
    )
    kind = forms.ChoiceField(label=_("Kind of request"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    age = forms.IntegerField(
        label=_("Waiting for more than (days)"),
        required=False,
        min_value=1,
        max_value=3650,
        widget=forms.NumberInput(attrs={"class": "input input--width-4"}),
        error_messages={
            "invalid": _("Enter the number of days as a whole number, for example 7."),
            "min_value": _("Enter a number of days of 1 or more."),
            "max_value": _("Enter a number of days of 3650 or fewer."),
        },
    )
    country = forms.RegexField(
        label=_("Operator's country"),
        help_text=_("Two-letter code, for example FR."),
        required=False,
        regex=r"^[A-Za-z]{2}\Z",
        widget=forms.TextInput(attrs={"class": "input input--width-2"}),
        error_messages={"invalid": _("Enter a two-letter country code, for example FR.")},
    )
    operation = forms.ChoiceField(label=_("Customs operation"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind_labels = dict(Request.Kind.choices)
        choice_fields = {
            name: cast(forms.ChoiceField, self.fields[name])
            for name in ("kind", "status", "operation")
        }
        choice_fields["kind"].choices = [("", _("All kinds"))] + [
            (kind, kind_labels.get(kind, kind)) for kind in HANDLERS
        ]
        choice_fields["status"].choices = [("", _("Waiting for a decision"))] + [
            (value, label) for value, label in Request.Status.choices if value != "submitted"
        ]
        language = translation.get_language() or settings.LANGUAGE_CODE
        choice_fields["operation"].choices = [("", _("Any operation"))] + [
            (operation.code, f"{operation.label_in(language)} ({operation.code})")
            for operation in CustomsOperation.objects.order_by("ordering", "code")
        ]
        for name in ("kind", "status", "operation"):
            self.fields[name].widget.attrs["class"] = "select"
            self.fields[name].error_messages["invalid_choice"] = _("Choose a value from the list.")

    def clean_country(self) -> str:
        return (self.cleaned_data.get("country") or "").upper()


class DecideForm(forms.Form):
    DECISIONS = [("approve", _("Approve")), ("reject", _("Reject"))]

    decision = forms.ChoiceField(
        label=_("Your decision"),
        choices=DECISIONS,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose whether to approve or reject the request."),
            "invalid_choice": _("Choose whether to approve or reject the request."),
        },
    )
    reason = forms.CharField(
        label=_("Reason"),
        help_text=_(
            "You must give a reason if you reject the request. The requester will read it."
        ),
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"class": "textarea", "rows": 4}),
        error_messages={
            "max_length": _("Enter a reason of %(limit_value)d characters or fewer."),
        },
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["reason"] = (cleaned.get("reason") or "").strip()
        if cleaned.get("decision") == "reject" and not cleaned["reason"]:
            self.add_error("reason", _("Enter the reason for rejecting the request."))
        return cleaned


class ReassignForm(forms.Form):
    authority = forms.ModelChoiceField(
        label=_("Authority to pass the request to"),
        queryset=Authority.objects.order_by("code"),
        empty_label=_("Choose an authority"),
        widget=forms.Select(attrs={"class": "select"}),
        error_messages={
            "required": _("Choose the authority to pass the request to."),
            "invalid_choice": _("Choose an authority from the list."),
        },
    )
