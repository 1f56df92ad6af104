from django import forms

from lessons.models import KeyArea
from quizzes import conf
from quizzes.models import Level


class PracticeStartForm(forms.Form):
    level = forms.ChoiceField(choices=Level.choices, widget=forms.RadioSelect, initial=Level.MID)
    key_areas = forms.ModelMultipleChoiceField(
        queryset=KeyArea.objects.none(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Key areas",
        help_text="Leave all unticked to practise every key area.",
    )
    count = forms.TypedChoiceField(
        coerce=int, label="Questions", choices=(), initial=10, widget=forms.RadioSelect
    )

    def __init__(self, *args, key_areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        if key_areas is not None:
            self.fields["key_areas"].queryset = key_areas
        self.fields["count"].choices = [(n, str(n)) for n in conf.practice_sizes()]
        self.fields["key_areas"].label_from_instance = lambda area: area.name


class MockStartForm(forms.Form):
    level = forms.ChoiceField(choices=Level.choices)
