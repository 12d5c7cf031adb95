from django.urls import path

from comptoir.continuity import feeds, views

app_name = "continuity"

urlpatterns = [
    path("status/", views.status, name="status"),
    path("status/history/", views.history, name="history"),
    path("status/feed.atom", feeds.StatusFeed(), name="feed"),
    path("continuity/", views.desk, name="desk"),
    path("continuity/open/<str:kind>/", views.fallback_open, name="open"),
    path(
        "continuity/outages/<uuid:outage_id>/acknowledge/",
        views.acknowledge,
        name="acknowledge",
    ),
    path("continuity/outages/<uuid:outage_id>/close/", views.close, name="close"),
    path(
        "companies/<int:operator_id>/outages/",
        views.operator_outages,
        name="operator_outages",
    ),
    path(
        "companies/<int:operator_id>/outages/<uuid:outage_id>/recover/",
        views.recover,
        name="recover",
    ),
]
