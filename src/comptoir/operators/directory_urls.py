from django.urls import path

from comptoir.operators import directory_views as views

app_name = "directory"

urlpatterns = [
    path("directory/", views.search, name="search"),
    path("directory/new/", views.create, name="create"),
    path("directory/new/<uuid:public_id>/", views.created, name="created"),
]
