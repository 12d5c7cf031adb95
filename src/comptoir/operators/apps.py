from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperatorsConfig(AppConfig):
    name = "comptoir.operators"
    verbose_name = _("Operators and authorities")

    def ready(self) -> None:
        from comptoir.operators import acting_receivers  # noqa: F401 - connects the receiver
