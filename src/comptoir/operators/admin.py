from django.contrib import admin

from comptoir.audit.services import audit_record
from comptoir.operators.models import (
    Authority,
    CustomsOperation,
    Operator,
    OperatorOperation,
    Position,
)


class AuditedAdmin(admin.ModelAdmin):
    """The admin saves each change in one transaction: its audit event joins it."""

    audit_name = ""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            action=f"{self.audit_name}.{'changed' if change else 'created'}_by_admin",
            actor=request.user,
            subject=obj,
            data={"fields": sorted(form.changed_data)},
        )

    def delete_model(self, request, obj):
        audit_record(action=f"{self.audit_name}.deleted_by_admin", actor=request.user, subject=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_record(
                action=f"{self.audit_name}.deleted_by_admin", actor=request.user, subject=obj
            )
        super().delete_queryset(request, queryset)


@admin.register(Operator)
class OperatorAdmin(AuditedAdmin):
    audit_name = "operator"
    list_display = ("name", "eori", "country", "status", "created_at", "deleted_at")
    list_filter = ("status", "country")
    search_fields = ("name", "eori", "national_id")
    # Merges and deletions go through their services (audited, with their effects), not here.
    readonly_fields = ("created_at", "modified_at", "merged_into", "deleted_at")


@admin.register(Authority)
class AuthorityAdmin(AuditedAdmin):
    audit_name = "authority"
    list_display = ("code", "name", "country", "kind")
    list_filter = ("kind", "country")
    search_fields = ("code", "name")


@admin.register(Position)
class PositionAdmin(AuditedAdmin):
    audit_name = "position"
    list_display = ("person", "role", "operator", "authority", "status", "since", "until")
    list_filter = ("role", "status")
    search_fields = ("person__username", "operator__name", "operator__eori", "authority__code")
    raw_id_fields = ("person", "operator", "authority")


@admin.register(CustomsOperation)
class CustomsOperationAdmin(AuditedAdmin):
    audit_name = "customs_operation"
    list_display = ("code", "label_en", "label_fr", "label_de", "active", "ordering")
    list_editable = ("active", "ordering")
    list_filter = ("active",)

    def has_delete_permission(self, request, obj=None):
        # Granted operations refer to the catalogue: retire an entry by making it inactive.
        return False


@admin.register(OperatorOperation)
class OperatorOperationAdmin(admin.ModelAdmin):
    """The history of grants: written by decisions only."""

    list_display = ("operator", "operation", "granted_at", "revoked_at")
    list_filter = ("operation",)
    search_fields = ("operator__name", "operator__eori")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
