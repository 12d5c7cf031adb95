"""The "acting for whom" form: the shape of the choice; operators.acting decides the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.core.forms import code_input
from comptoir.operators.acting import ActorType, Capacity, IdentifierType
from comptoir.operators.mandate_forms import _Radios

MYSELF = "myself"
OTHER = "other"


class ActingForm(forms.Form):
    who = forms.ChoiceField(
        label=_("On whose behalf are you acting?"),
        choices=[(MYSELF, _("Myself")), (OTHER, _("The following person"))],
        widget=_Radios,
        error_messages={
            "required": _("Choose “Myself” or “The following person”."),
            "invalid_choice": _("Choose “Myself” or “The following person”."),
        },
    )
    actor_type = forms.ChoiceField(
        label=_("Actor type"),
        choices=ActorType.choices,
        initial=ActorType.EO,
        error_messages={
            "required": _("Choose the actor type: economic operator (EO)."),
            "invalid_choice": _("Only an economic operator (EO) can be chosen."),
        },
    )
    identifier_type = forms.ChoiceField(
        label=_("Identifier type"),
        choices=IdentifierType.choices,
        initial=IdentifierType.EORI,
        error_messages={
            "required": _("Choose the identifier type: EORI number."),
            "invalid_choice": _("Economic operators are identified by their EORI number."),
        },
    )
    identifier = forms.CharField(
        label=_("Identifier"),
        help_text=_("The company's EORI number, for example FR12345678901."),
        max_length=40,
        widget=code_input(width=10),
        error_messages={
            "required": _("Enter the EORI number of the company you act for."),
            "max_length": _("Enter an EORI number of 17 characters or fewer."),
        },
    )
    capacity = forms.ChoiceField(
        label=_("How do you act for this company?"),
        choices=Capacity.choices,
        widget=_Radios,
        error_messages={
            "required": _("Choose “Directly” or “Holding a mandate”."),
            "invalid_choice": _("Choose “Directly” or “Holding a mandate”."),
        },
        help_text=_(
            "Directly: you work for the company. Holding a mandate: your company acts for it "
            "under a mandate for portal actions."
        ),
    )
    consent = forms.BooleanField(
        label=_(
            "I consent to share my profile (name, e-mail address, positions) with this company."
        ),
        error_messages={
            "required": _("Give your consent to share your profile with the company you act for.")
        },
    )

    #: Asked only when the person acts for someone else.
    OTHER_FIELDS = ("actor_type", "identifier_type", "identifier", "capacity", "consent")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound and self.data.get("who") != OTHER:
            for name in self.OTHER_FIELDS:
                self.fields[name].required = False
