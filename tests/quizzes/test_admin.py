"""Instructors edit and add questions in the admin: readable JSON, the same checks as the bank files."""

import json

import pytest
from django.urls import reverse

from quizzes.models import Question
from tests.factories import UserFactory


@pytest.fixture
def staff_client(client, banks):
    client.force_login(UserFactory(username="teacher", is_staff=True, is_superuser=True))
    return client


def _form(question: Question, **changes) -> dict:
    data = {
        "key": question.key,
        "level": question.level,
        "type": question.type,
        "is_active": "on",
        "origin": question.origin,
        "position": question.position,
        "prompt": question.prompt,
        "context": question.context,
        "data": json.dumps(question.data),
        "answer": json.dumps(question.answer),
        "explanation": question.explanation,
        "model_answer": question.model_answer,
        "rubric": json.dumps(question.rubric),
        "source": question.source,
        "section": question.section_id,
        "key_areas": [k.pk for k in question.key_areas.all()],
    }
    data.update(changes)
    return data


def test_changelist_filters_by_level_type_and_key_area(staff_client):
    url = reverse("admin:quizzes_question_changelist")
    response = staff_client.get(url, {"level": "senior", "type": "red_flag"})
    assert response.status_code == 200
    keys = [q.key for q in response.context["cl"].result_list]
    assert keys == list(
        Question.objects.filter(level="senior", type="red_flag").values_list("key", flat=True)
    )
    area = Question.objects.get(key="mid-001").key_areas.get()
    by_area = staff_client.get(url, {"key_areas__id__exact": area.pk})
    assert by_area.context["cl"].result_count == Question.objects.filter(key_areas=area).count()


def test_change_form_shows_indented_json(staff_client):
    question = Question.objects.get(key="mid-010")
    response = staff_client.get(reverse("admin:quizzes_question_change", args=[question.pk]))
    assert response.status_code == 200
    assert "{\n  &quot;left&quot;: {\n    &quot;1&quot;: &quot;WebSockets&quot;" in response.content.decode()


def test_edit_with_an_invalid_key_is_refused(staff_client):
    question = Question.objects.get(key="mid-001")
    response = staff_client.post(
        reverse("admin:quizzes_question_change", args=[question.pk]), _form(question, answer='"z"')
    )
    assert response.status_code == 200
    assert "answer must be one of the option ids" in response.content.decode()
    question.refresh_from_db()
    assert question.answer == "a"


def test_add_question_resolves_the_section_from_source(staff_client):
    template = Question.objects.get(key="senior-001")
    data = _form(
        template,
        key="senior-901",
        prompt="Which protocol suits a stock ticker?",
        section="",
        source="real-time-communication-protocols#real-time-communication-protocols",
        origin="admin",
    )
    response = staff_client.post(reverse("admin:quizzes_question_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    added = Question.objects.get(key="senior-901")
    assert (added.section.anchor, added.origin) == ("real-time-communication-protocols", "admin")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"key": "mid-902"}, "key", 'A senior question id starts with "senior-".'),
        (
            {"source": "nowhere#at-all", "section": ""},
            "source",
            "No lesson section has that lesson slug and anchor.",
        ),
        (
            {"source": "Not a source", "section": ""},
            "source",
            'Write it as "<lesson-slug>#<section-anchor>".',
        ),
    ],
)
def test_add_question_bad_ids_and_sources(staff_client, changes, field, message):
    template = Question.objects.get(key="senior-001")
    data = _form(template, **{"key": "senior-902", "origin": "admin", **changes})
    response = staff_client.post(reverse("admin:quizzes_question_add"), data)
    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors[field]


def test_question_authors_group_can_edit_questions_but_not_answers(client, banks):
    from django.contrib.auth.models import Group

    author = UserFactory(username="author", is_staff=True)
    author.groups.add(Group.objects.get(name="Question authors"))
    client.force_login(author)
    question = Question.objects.get(key="mid-001")
    assert client.get(reverse("admin:quizzes_question_change", args=[question.pk])).status_code == 200
    assert client.get(reverse("admin:quizzes_question_add")).status_code == 200
    assert client.get(reverse("admin:quizzes_answer_changelist")).status_code == 200
    assert client.get(reverse("admin:quizzes_answer_add")).status_code == 403
    assert client.get(reverse("admin:quizzes_question_delete", args=[question.pk])).status_code == 403
