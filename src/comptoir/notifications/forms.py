"""The dashboard's filters (sent with GET; every one optional)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.notifications.dashboard import (
    KIND_NOTICES,
    KIND_TASKS,
    DashboardChoices,
    DashboardFilters,
)
from comptoir.notifications.models import Notice

REFERENCE_MAX = 40


class DashboardFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            ("", _("Tasks and notices")),
            (KIND_TASKS, _("Tasks only")),
            (KIND_NOTICES, _("Notices only")),
        ],
    )
    type = forms.ChoiceField(label=_("Type"), required=False)
    sector = forms.ChoiceField(label=_("Sector"), required=False)
    priority = forms.ChoiceField(
        label=_("Priority"),
        required=False,
        choices=[("", _("Any priority")), *Notice.Priority.choices],
    )
    q = forms.CharField(
        label=_("Reference number"),
        help_text=_("All or part of it, for example REQ-2026 or 26LU."),
        required=False,
        max_length=REFERENCE_MAX,
        widget=forms.TextInput(attrs={"class": "input input--width-10", "spellcheck": "false"}),
        error_messages={
            "max_length": _("Enter a reference number of %(limit_value)s characters or fewer.")
        },
    )
    unread = forms.BooleanField(label=_("Show unread notices only"), required=False)

    def __init__(self, *args: Any, choices: DashboardChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = {
            name: cast(forms.ChoiceField, self.fields[name])
            for name in ("kind", "type", "sector", "priority")
        }
        fields["type"].choices = [("", _("Any type"))] + [
            (choice.value, choice.label) for choice in choices.types
        ]
        fields["sector"].choices = [("", _("Any sector"))] + [
            (choice.value, choice.label) for choice in choices.sectors
        ]
        for field in fields.values():
            field.widget.attrs["class"] = "select"
            field.error_messages["invalid_choice"] = _("Choose a value from the list.")

    def clean_q(self) -> str:
        return " ".join((self.cleaned_data.get("q") or "").split())

    def filters(self) -> DashboardFilters:
        data = self.cleaned_data
        return DashboardFilters(
            kind=data["kind"],
            type=data["type"],
            sector=data["sector"],
            priority=data["priority"],
            unread=bool(data["unread"]),
            q=data["q"],
        )
