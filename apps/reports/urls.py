"""The dashboard, under /admin/dashboard/ (``backend/urls.py``), behind the admin's login."""

from django.contrib import admin
from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", admin.site.admin_view(views.dashboard_view), name="dashboard"),
    path("<slug:table>.csv", admin.site.admin_view(views.export_view), name="export"),
]
