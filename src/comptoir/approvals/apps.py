from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "comptoir.approvals"
    verbose_name = _("Requests and decisions")

    def ready(self) -> None:
        # Registers the "approvals" source of dashboard tasks (requests to decide).
        from comptoir.approvals import worklist  # noqa: F401
