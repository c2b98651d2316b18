from django.contrib.admin.apps import AdminConfig


class ClinicAdminConfig(AdminConfig):
    """The Django admin, as the clinic's staff workspace (see ``clinic.admin``)."""

    default_site = "clinic.admin.ClinicAdminSite"
