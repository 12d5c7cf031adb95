from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificatesConfig(AppConfig):
    name = "comptoir.certificates"
    verbose_name = _("Certificates")

    def ready(self) -> None:
        from comptoir.certificates import (  # noqa: F401 - register the approvals kind, the tasks
            access_handler,
            identity_receivers,
            worklist,
        )
        from comptoir.notifications.dashboard import sector_label_register, type_label_register

        type_label_register("certificate", _("Certificate about to expire"))
        sector_label_register("certificates", _("Certificates"))
