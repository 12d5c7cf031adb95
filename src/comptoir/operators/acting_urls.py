from django.urls import path

from comptoir.operators import acting_views as views

app_name = "acting"

urlpatterns = [
    path("acting-for/", views.acting_choose, name="choose"),
]
