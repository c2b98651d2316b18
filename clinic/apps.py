from django.contrib.admin.apps import AdminConfig


class ClinicAdminConfig(AdminConfig):
    """The Django admin, as the clinic's staff workspace (see ``clinic.admin``)."""

    default_site = "clinic.admin.ClinicAdminSite"

    def ready(self):
        super().ready()
        from django.contrib import admin

        from .staff_admin import register

        register(admin.site)
