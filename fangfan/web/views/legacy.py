"""Thin views over selectors; the full web application comes with its own issue."""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from fangfan.registry import selectors


@login_required
def home(request):
    summary = selectors.registry_summary(actor=request.user)
    households = selectors.household_list(actor=request.user, query=request.GET.get("q", ""))[:50]
    return render(request, "web/home.html", {"summary": summary, "households": households})


@login_required
def household_detail(request, number: str):
    file = selectors.household_file(actor=request.user, household_number=number)
    if file is None:
        raise Http404("无此户或不在管辖范围内")
    return render(request, "web/household.html", file)
