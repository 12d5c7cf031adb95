from django.urls import path

from comptoir.certificates import views
from comptoir.certificates.rights_urls import urlpatterns as rights_urlpatterns

app_name = "certificates"

_ONE = "companies/<int:operator_id>/certificates/<uuid:certificate_id>/"

urlpatterns = [
    path("companies/<int:operator_id>/certificates/", views.certificate_list, name="list"),
    path("companies/<int:operator_id>/certificates/new/", views.certificate_new, name="new"),
    path(_ONE, views.certificate_detail, name="detail"),
    path(f"{_ONE}upload/", views.certificate_upload, name="upload"),
    path(f"{_ONE}registered/", views.certificate_registered, name="registered"),
    path(f"{_ONE}revoke/", views.certificate_revoke, name="revoke"),
    path(f"{_ONE}download/<str:what>", views.certificate_download, name="download"),
    *rights_urlpatterns,
]
