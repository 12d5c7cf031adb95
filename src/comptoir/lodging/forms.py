from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from comptoir.lodging import selectors, services


class _Radios(forms.RadioSelect):
    """Radios whose label id is the first option's, so that the error summary links to it."""

    def id_for_label(self, id_: str, index: str | None = "0") -> str:  # type: ignore[override]
        return f"{id_}_{index or 0}" if id_ else id_


class LodgeForm(forms.Form):
    declaration_type = forms.ChoiceField(
        label=_("Type of declaration"),
        widget=_Radios,
        error_messages={
            "required": _("Select the type of declaration"),
            "invalid_choice": _("Select the type of declaration"),
        },
    )
    file = forms.FileField(
        label=_("Upload the declaration"),
        help_text=_("An XML file (.xml) or a JSON file (.json), smaller than %(size)s."),
        error_messages={
            "required": _("Select the file of the declaration"),
            "empty": _("The selected file is empty."),
            "invalid": _("Select the file of the declaration"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = (get_language() or "en")[:2]
        field = self.fields["declaration_type"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (item.code, item.label_in(language)) for item in selectors.declaration_types_active()
        ]
        self.fields["file"].help_text = self.fields["file"].help_text % {
            "size": services.size_text(services.declaration_max_bytes())
        }

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = services.declaration_max_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                services.MESSAGES["too_large"] % {"size": services.size_text(limit)},
                code="too_large",
            )
        return upload
