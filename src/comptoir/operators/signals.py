"""Signals of the operators app, for the layers above (which may listen; this app never imports
them).

``operators_imported``: sent once at the end of a directory import run that wrote operators with
bulk inserts and updates (no ``post_save`` for them), when it created operators or updated some
(an update may give an operator its EORI number). Sent with ``sender=Operator`` and the keyword
arguments ``created`` and ``updated`` (counts). Also sent after a run that failed part-way: the
batches already written stay."""

from __future__ import annotations

from django.dispatch import Signal

operators_imported = Signal()
