from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from comptoir.audit.services import audit_record
from comptoir.core.text import search_text
from comptoir.operators.models import (
    ActivitySection,
    ActivityType,
    Authority,
    CustomsOperation,
    Mandate,
    Operator,
    OperatorActivity,
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


class OperatorActivityInline(admin.TabularInline):
    """The operator's activities; each addition, change or removal here is audited with the
    operator (OperatorAdmin.save_formset)."""

    model = OperatorActivity
    extra = 0
    fields = ("activity_type", "identifier", "added_at", "added_by")
    readonly_fields = ("added_at", "added_by")
    autocomplete_fields = ("activity_type",)


def _activity_data(activity: OperatorActivity) -> dict[str, object]:
    activity_type = activity.activity_type
    return {
        "activity": activity.pk,
        "activity_type": f"{activity_type.section.code}/{activity_type.code}",
        "identifier": activity.identifier,
    }


@admin.register(Operator)
class OperatorAdmin(AuditedAdmin):
    audit_name = "operator"
    list_display = (
        "name",
        "eori",
        "country",
        "status",
        "lodging_channel",
        "created_at",
        "deleted_at",
    )
    list_filter = ("status", "lodging_channel", "country")
    search_fields = ("name", "eori", "national_id")
    # Merges and deletions go through their services (audited, with their effects), not here.
    readonly_fields = ("created_at", "modified_at", "merged_into", "deleted_at")
    inlines = (OperatorActivityInline,)

    def save_model(self, request, obj, form, change):
        # The directory searches the folded name: keep it in step with the name.
        obj.search_name = search_text(obj.name)[
            : Operator._meta.get_field("search_name").max_length
        ]
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is not OperatorActivity:
            return super().save_formset(request, form, formset, change)
        instances = formset.save(commit=False)
        for activity in formset.deleted_objects:
            audit_record(
                action="operator.activity_removed_by_admin",
                actor=request.user,
                subject=form.instance,
                data=_activity_data(activity),
            )
            activity.delete()
        changed = {id(obj) for obj, _fields in formset.changed_objects}
        for activity in instances:
            new = activity.pk is None
            if new:
                activity.added_by = request.user
            activity.save()
            if new or id(activity) in changed:
                audit_record(
                    action=f"operator.activity_{'added' if new else 'changed'}_by_admin",
                    actor=request.user,
                    subject=form.instance,
                    data=_activity_data(activity),
                )
        formset.save_m2m()


@admin.register(ActivitySection)
class ActivitySectionAdmin(AuditedAdmin):
    audit_name = "activity_section"
    list_display = ("code", "label_en", "label_fr", "label_de", "ordering", "types")
    list_editable = ("ordering",)
    search_fields = ("code", "label_en", "label_fr", "label_de")

    @admin.display(description=_("activity types"))
    def types(self, obj: ActivitySection) -> int:
        return obj.activity_types.count()


@admin.register(ActivityType)
class ActivityTypeAdmin(AuditedAdmin):
    audit_name = "activity_type"
    list_display = ("code", "section", "label_en", "label_fr", "label_de", "active", "ordering")
    list_editable = ("active", "ordering")
    list_filter = ("section", "active")
    search_fields = ("code", "label_en", "label_fr", "label_de", "section__code")
    list_select_related = ("section",)

    def has_delete_permission(self, request, obj=None):
        # Operators' activities refer to the catalogue: retire a type by making it inactive.
        return False


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


@admin.register(Mandate)
class MandateAdmin(admin.ModelAdmin):
    """Mandates are proposed, accepted and ended by the companies (operators.mandates): read
    only here."""

    list_display = ("principal", "provider", "scope", "valid_from", "valid_until", "status")
    list_filter = ("status", "scope")
    search_fields = ("principal__name", "principal__eori", "provider__name", "provider__eori")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
