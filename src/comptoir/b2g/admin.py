"""B2G clients in the admin: read-only (a client is created with `manage.py b2g_client_create`,
which shows its token once); the actions disable and enable go through the services, audited."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from comptoir.accounts.models import User
from comptoir.b2g import services
from comptoir.b2g.models import B2GClient


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@admin.register(B2GClient)
class B2GClientAdmin(admin.ModelAdmin):
    list_display = ("name", "operator", "enabled", "calls", "last_used_at", "created_at")
    list_filter = ("enabled",)
    search_fields = ("name", "operator__eori", "operator__name", "certificate_fingerprint")
    list_select_related = ("operator",)
    ordering = ("name",)
    fields = (
        "name",
        "operator",
        "certificate_fingerprint",
        "token_digest",
        "enabled",
        "created_at",
        "disabled_at",
        "calls",
        "last_used_at",
    )
    readonly_fields = fields
    actions = ("disable_clients", "enable_clients")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: B2GClient | None = None) -> bool:
        return False

    @admin.action(description=_("Disable the selected B2G clients"), permissions=["change"])
    def disable_clients(self, request: HttpRequest, queryset: QuerySet[B2GClient]) -> None:
        count = 0
        for client in queryset:
            if client.enabled:
                services.b2g_client_disable(client_id=client.pk, actor=_actor(request))
                count += 1
        self.message_user(
            request,
            ngettext("%(count)d B2G client disabled.", "%(count)d B2G clients disabled.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Enable the selected B2G clients"), permissions=["change"])
    def enable_clients(self, request: HttpRequest, queryset: QuerySet[B2GClient]) -> None:
        count = 0
        for client in queryset:
            if client.enabled:
                continue
            try:
                services.b2g_client_enable(client_id=client.pk, actor=_actor(request))
            except ValidationError as exc:
                self.message_user(
                    request,
                    f"{client.name}: {' '.join(exc.messages)}",
                    messages.ERROR,
                )
                continue
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d B2G client enabled.", "%(count)d B2G clients enabled.", count)
            % {"count": count},
            messages.SUCCESS,
        )
