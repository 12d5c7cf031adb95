from django.contrib import admin

from comptoir.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("sequence", "occurred_at", "action", "actor_label", "subject_label", "ip")
    list_filter = ("action",)
    search_fields = ("actor_label", "subject_label", "request_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
