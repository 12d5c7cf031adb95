from django.contrib import admin

from comptoir.certificates.models import Certificate, EoriIdentity


@admin.register(EoriIdentity)
class EoriIdentityAdmin(admin.ModelAdmin):
    list_display = ["identifier", "identifier_type", "actor_type", "operator", "created_at"]
    search_fields = ["identifier", "operator__name"]
    readonly_fields = ["public_id", "operator", "identifier", "created_at", "modified_at"]


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ["name", "identity", "purpose", "status", "qualified", "not_after"]
    list_filter = ["status", "purpose", "qualified"]
    search_fields = ["name", "serial", "subject", "issuer", "sha256", "identity__identifier"]
    # Status changes go through the services (audit, transitions): read-only here.
    readonly_fields = [
        f.name for f in Certificate._meta.get_fields() if getattr(f, "concrete", False)
    ]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
