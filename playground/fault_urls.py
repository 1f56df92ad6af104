"""Fault injection and guided experiments (issue 6), included from playground/urls.py."""

from django.urls import path

from playground import experiment_views, fault_views

urlpatterns = [
    path("faults/", fault_views.fault_list, name="fault-list"),
    path("faults/heal/", fault_views.fault_heal, name="fault-heal"),
    path("experiments/", experiment_views.experiment_list, name="experiment-list"),
    path("experiments/history/", experiment_views.experiment_history, name="experiment-history"),
    path("experiments/<slug:slug>/", experiment_views.experiment_detail, name="experiment-detail"),
    path("experiments/<slug:slug>/predict/", experiment_views.experiment_predict, name="experiment-predict"),
    path(
        "experiments/<slug:slug>/runs/", experiment_views.experiment_run_create, name="experiment-run-create"
    ),
    path("experiments/<slug:slug>/assign/", experiment_views.experiment_assign, name="experiment-assign"),
]
