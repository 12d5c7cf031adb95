from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContinuityConfig(AppConfig):
    name = "comptoir.continuity"
    verbose_name = _("Continuity (fallback procedure)")

    def ready(self) -> None:
        # Registers the continuity tasks on the dashboard (notifications.worklist).
        from comptoir.continuity import worklist  # noqa: F401
