"""The form to add an activity to an operator: the type from the catalogue (grouped by section,
labels in the page's language) and the identifier the operator holds for it. It checks the
input's shape; the service decides the rest (duplicates, retired types, who may)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from comptoir.operators import activities
from comptoir.operators.models import ActivityType


class ActivityAddForm(forms.Form):
    activity_type = forms.TypedChoiceField(
        label=_("Activity type"),
        help_text=_("The activity types are grouped by section."),
        coerce=int,
        widget=forms.Select(attrs={"class": "select"}),
        error_messages={
            "required": _("Select the activity type."),
            "invalid_choice": _("Select an activity type from the list."),
        },
    )
    identifier = forms.CharField(
        label=_("Identifier"),
        help_text=_(
            "The number the competent authority gave the company for this activity, for "
            "example its plant-health registration number."
        ),
        required=False,
        max_length=activities.IDENTIFIER_MAX,
        widget=forms.TextInput(attrs={"class": "input", "autocomplete": "off"}),
        error_messages={
            "max_length": _("Enter an identifier of %(limit_value)s characters or fewer.")
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = (get_language() or "en")[:2]
        self.types: dict[int, ActivityType] = {}
        groups: list[tuple[str, list[tuple[int, str]]]] = []
        for section in activities.activity_sections_catalogue():
            options = []
            for activity_type in section.offered:  # type: ignore[attr-defined]
                self.types[activity_type.pk] = activity_type
                options.append(
                    (activity_type.pk, f"{activity_type.label_in(language)} ({activity_type.code})")
                )
            groups.append((section.label_in(language), options))
        field = self.fields["activity_type"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Choose an activity type")), *groups]

    def clean_identifier(self) -> str:
        return " ".join(self.cleaned_data["identifier"].split())

    def chosen_type(self) -> ActivityType:
        return self.types[self.cleaned_data["activity_type"]]
