from django.contrib import admin

from comptoir.notifications.models import Notice, OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "to", "subject", "status", "attempts", "next_attempt_at")
    list_filter = ("status",)
    search_fields = ("to", "subject")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    """Read-only: notices are written by the services, in the same transaction as the change
    they tell about, and read by the person they are addressed to."""

    list_display = ("created_at", "recipient", "topic", "title", "operator", "read_at")
    list_filter = ("topic", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "recipient__username", "recipient__email", "operator__eori")
    list_select_related = ("recipient", "operator")
    date_hierarchy = "created_at"
    readonly_fields = (
        "public_id",
        "recipient",
        "operator",
        "topic",
        "title",
        "body",
        "link",
        "created_at",
        "read_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
