from django.urls import path

from . import views

app_name = "appointments"

urlpatterns = [
    path("", views.booking_start, name="booking_start"),
    path("help/", views.booking_help, name="booking_help"),
    path("check/", views.booking_check, name="booking_check"),
    path("received/<str:token>/", views.request_received, name="request_received"),
    path("status/<str:signed>/", views.request_status, name="request_status"),
    path("<slug:step>/", views.booking_step, name="booking_step"),
]
