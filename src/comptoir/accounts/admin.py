from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from comptoir.accounts.models import TermsAcceptance, TermsVersion, User
from comptoir.accounts.services import terms_publish
from comptoir.audit.services import audit_record


@admin.register(User)
class PersonAdmin(UserAdmin):
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (_("Contact"), {"fields": ("phone", "postal_address", "language")}),
    )
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active")

    # The admin saves each change in one transaction: its audit event joins it.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            action="person.changed_by_admin" if change else "person.created_by_admin",
            actor=request.user,
            subject=obj,
            data={"fields": sorted(form.changed_data)},
        )

    def delete_model(self, request, obj):
        audit_record(action="person.deleted_by_admin", actor=request.user, subject=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for person in queryset:
            audit_record(action="person.deleted_by_admin", actor=request.user, subject=person)
        super().delete_queryset(request, queryset)


@admin.register(TermsVersion)
class TermsVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "title_en", "created_at", "published_at")
    readonly_fields = ("published_at",)
    actions = ["publish"]

    def get_readonly_fields(self, request, obj=None):
        # A published text is what people accepted: it can no longer change.
        if obj is not None and obj.published_at is not None:
            return [f.name for f in TermsVersion._meta.fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        # A published version is part of the record of what people accepted.
        if obj is not None and obj.published_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Bulk deletion would bypass has_delete_permission(obj) for published versions.
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=_("Publish the selected versions"))
    def publish(self, request, queryset):
        count = 0
        for terms in queryset.filter(published_at__isnull=True):
            terms_publish(terms=terms, actor=request.user)
            count += 1
        self.message_user(
            request,
            ngettext("%d version published.", "%d versions published.", count) % count,
            messages.SUCCESS,
        )


@admin.register(TermsAcceptance)
class TermsAcceptanceAdmin(admin.ModelAdmin):
    list_display = ("user", "terms", "accepted_at", "ip")
    list_filter = ("terms",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
