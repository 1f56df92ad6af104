"""Fault injection and guided experiments (issue 6), included from playground/urls.py."""

from django.urls import path

from playground import fault_views

urlpatterns = [
    path("faults/", fault_views.fault_list, name="fault-list"),
    path("faults/heal/", fault_views.fault_heal, name="fault-heal"),
]
