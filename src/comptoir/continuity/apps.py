from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContinuityConfig(AppConfig):
    name = "comptoir.continuity"
    verbose_name = _("Continuity (fallback procedure)")
