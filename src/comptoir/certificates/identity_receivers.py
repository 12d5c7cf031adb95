"""Every operator with an EORI number gets its EORI identity (see ``identities``): at once when
an Operator is saved, in the saving transaction; after a directory import (bulk writes, no
post_save), by a background task queued when the import's transaction commits."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from comptoir.certificates import identities
from comptoir.operators.models import Operator
from comptoir.operators.signals import operators_imported


@receiver(post_save, sender=Operator, dispatch_uid="comptoir.certificates.identity_on_save")
def operator_saved(
    sender: type[Operator],
    instance: Operator,
    created: bool,
    raw: bool = False,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    # raw: loaddata writes the rows as they are (the identities come with the fixture, or
    # from `manage.py certificates_identities`).
    if raw or not instance.eori:
        return
    if update_fields is not None and "eori" not in update_fields:
        return
    identities.eori_identity_ensure(operator=instance)


@receiver(operators_imported, dispatch_uid="comptoir.certificates.identities_after_import")
def operators_were_imported(sender: Any, created: int = 0, updated: int = 0, **kwargs: Any) -> None:
    if not (created or updated):
        return
    from comptoir.certificates.tasks import eori_identities_backfill

    transaction.on_commit(lambda: eori_identities_backfill.enqueue())
