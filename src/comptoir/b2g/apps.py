from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class B2gConfig(AppConfig):
    name = "comptoir.b2g"
    verbose_name = _("B2G access")

    def ready(self) -> None:
        from comptoir.b2g import checks  # noqa: F401 - registers the system checks
