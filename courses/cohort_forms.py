from datetime import timedelta

from django import forms
from django.core.validators import MaxValueValidator
from django.utils import timezone

from courses.models import Cohort, CohortMembership, Course


class CohortForm(forms.ModelForm):
    class Meta:
        model = Cohort
        fields = ["name", "course", "starts_on", "ends_on", "weekly_target_kind", "weekly_target"]
        labels = {
            "starts_on": "Starts on (optional)",
            "ends_on": "Ends on (optional)",
            "weekly_target_kind": "Weekly target measured in",
            "weekly_target": "Weekly target",
        }
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = Course.objects.all()
        self.fields["weekly_target"].validators.append(MaxValueValidator(1000))
        self.fields["weekly_target"].widget.attrs.update({"min": 0, "max": 1000})
        if editing:
            del self.fields["course"]

    def clean(self) -> dict:
        data = super().clean()
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", "The end date must be on or after the start date.")
        return data


EXPIRY_CHOICES = [("1", "1 day"), ("7", "7 days"), ("30", "30 days"), ("never", "Never")]


class InviteForm(forms.Form):
    role = forms.ChoiceField(
        choices=CohortMembership.Role.choices, initial=CohortMembership.Role.LEARNER, label="Joins as"
    )
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="7", label="Link expires after")

    def expires_at(self):
        value = self.cleaned_data["expires_in"]
        return None if value == "never" else timezone.now() + timedelta(days=int(value))


class RecipientCheckboxes(forms.CheckboxSelectMultiple):
    """Learner ids as repeated values (these checkboxes) or space-separated in one value (the dashboard's
    at-risk form sends one hidden input, not one per learner)."""

    def value_from_datadict(self, data, files, name):
        values = super().value_from_datadict(data, files, name)
        if values is None:
            return None
        if isinstance(values, str | int):
            values = [values]
        return [part for value in values for part in str(value).split()]


class MessageForm(forms.Form):
    """An announcement or an e-mail, to the whole cohort or to chosen learners."""

    MODES = [("announcement", "Announcement (in the app, live for learners online)"), ("email", "E-mail")]

    mode = forms.ChoiceField(choices=MODES, initial="announcement", widget=forms.RadioSelect, label="Send as")
    title = forms.CharField(max_length=160, label="Title")
    body = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 5}), label="Message")
    recipients = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=RecipientCheckboxes,
        label="Only to these learners (leave empty for the whole cohort)",
    )

    def __init__(self, *args, learners: list[tuple[int, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipients"].choices = learners

    def clean(self) -> dict:
        data = super().clean()
        if data.get("mode") == "email" and not data.get("recipients"):
            data["recipients"] = [pk for pk, _ in self.fields["recipients"].choices]
        return data
