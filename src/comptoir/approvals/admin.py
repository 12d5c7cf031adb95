from django.contrib import admin

from comptoir.approvals.models import Request, RequestEvent


class RequestEventInline(admin.TabularInline):
    model = RequestEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Request)
class RequestAdmin(admin.ModelAdmin):
    """Read-only: requests change only through their decision services (audited, race-safe)."""

    list_display = ("reference", "kind", "status", "requester", "operator", "submitted_at")
    list_filter = ("kind", "status")
    search_fields = ("reference", "operator__eori", "operator__name", "requester__username")
    inlines = [RequestEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
