from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LodgingConfig(AppConfig):
    name = "comptoir.lodging"
    verbose_name = _("Declaration lodging")
