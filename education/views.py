from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def article_list(request):
    return render(request, "education/article_list.html")
