"""The person's choice, per category of notices, between "by e-mail and in the portal" and "only
in the portal". In-app notices are always written; the e-mail follows this choice (see
selectors.notice_wants_email). Saving is a change of the person's profile: audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from comptoir.audit.services import audit_record
from comptoir.notifications.models import NoticePreference
from comptoir.notifications.selectors import notice_preferences

if TYPE_CHECKING:
    from comptoir.accounts.models import User


@transaction.atomic
def notice_preferences_set(*, person: User, choices: Mapping[str, bool]) -> dict[str, bool]:
    """Store the person's choice for each category given (True: by e-mail too; False: only in
    the portal); the categories not given keep theirs. Returns every category's choice now.
    One audit event lists what changed (none when nothing did)."""
    unknown = sorted(set(choices) - set(NoticePreference.Category.values))
    if unknown:
        raise ValidationError(
            {category: [_("This is not a category of notices.")] for category in unknown}
        )
    # One save at a time per person: two concurrent saves cannot both miss a row and clash.
    get_user_model().objects.select_for_update().filter(pk=person.pk).first()
    before = notice_preferences(person=person)
    changes: dict[str, dict[str, bool]] = {}
    for category, by_email in choices.items():
        NoticePreference.objects.update_or_create(
            person=person, category=category, defaults={"by_email": bool(by_email)}
        )
        if before[category] != bool(by_email):
            changes[category] = {"from": before[category], "to": bool(by_email)}
    if changes:
        audit_record(
            action="profile.notice_preferences_changed",
            actor=person,
            subject=person,
            data={"changes": changes},
        )
    return notice_preferences(person=person)
