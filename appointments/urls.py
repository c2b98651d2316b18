from django.urls import path

from . import views

app_name = "appointments"

urlpatterns = [
    path("", views.booking_start, name="booking_start"),
    path("help/", views.booking_help, name="booking_help"),
    path("check/", views.booking_check, name="booking_check"),
    path("when/", views.booking_when, name="booking_when"),
    path("received/<str:token>/", views.request_received, name="request_received"),
    path("status/<str:signed>/", views.request_status, name="request_status"),
    path("status/<str:signed>/reschedule/", views.appointment_reschedule, name="appointment_reschedule"),
    path("status/<str:signed>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("intake/<str:signed>/", views.intake_start, name="intake_start"),
    path("intake/<str:signed>/help-now/", views.intake_help, name="intake_help"),
    path("intake/<str:signed>/done/", views.intake_done, name="intake_done"),
    path("intake/<str:signed>/<slug:section>/", views.intake_page, name="intake_page"),
    path("<slug:step>/", views.booking_step, name="booking_step"),
]
