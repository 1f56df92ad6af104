def cohort_ids_for_learner(*, user_id: int) -> list[int]:
    """Cohorts whose dashboards show this learner. Cohorts land with the cohorts feature."""
    from django.apps import apps

    try:
        membership = apps.get_model("courses", "CohortMembership")
    except LookupError:
        return []
    return list(membership.objects.filter(user_id=user_id).values_list("cohort_id", flat=True))
