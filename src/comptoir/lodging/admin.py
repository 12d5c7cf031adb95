"""Administrators edit the catalogue of declaration types (audited) and look at declarations
(read-only: a declaration is never changed once accepted)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from comptoir.lodging.models import Declaration, DeclarationType
from comptoir.operators.admin import AuditedAdmin


@admin.register(DeclarationType)
class DeclarationTypeAdmin(AuditedAdmin):
    audit_name = "declaration_type"
    list_display = ("code", "label_en", "operation", "procedure_letter", "active", "ordering")
    list_filter = ("active", "operation")
    search_fields = ("code", "label_en", "label_fr", "label_de")


@admin.register(Declaration)
class DeclarationAdmin(admin.ModelAdmin):
    list_display = (
        "mrn",
        "operator",
        "declaration_type",
        "channel",
        "lodged_at",
        "delivery_status",
        "delivery_attempts",
    )
    list_filter = ("channel", "delivery_status", "declaration_type")
    search_fields = ("mrn", "operator__name", "operator__eori")
    date_hierarchy = "lodged_at"
    exclude = ("payload",)
    list_select_related = ("operator", "declaration_type")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
