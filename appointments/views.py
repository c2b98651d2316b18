from django.shortcuts import render


def request_create(request):
    return render(request, "appointments/request_form.html")
