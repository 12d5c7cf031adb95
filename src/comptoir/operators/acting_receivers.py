"""After sign-in, a person who may act for a company is asked on whose behalf they act before
going where they were going."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from allauth.account.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpResponseRedirect
from django.urls import reverse

from comptoir.operators import acting


@receiver(user_logged_in, dispatch_uid="comptoir.operators.acting_after_sign_in")
def ask_on_whose_behalf(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    response = kwargs.get("response")
    if not isinstance(response, HttpResponseRedirect) or request is None:
        return
    if not acting.acting_has_options(person=user):
        return
    response["Location"] = (
        reverse("acting:choose") + "?" + urlencode({"next": response["Location"]})
    )
