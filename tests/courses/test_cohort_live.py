"""Live dashboards and learner sockets through config.asgi.application (Origin validator and auth)."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import AsyncClient

from config.asgi import application
from courses import cohort_services, cohort_views, events
from courses.models import CohortMembership, LearnerConnection
from tests.courses.cohort_factories import (
    CohortFactory,
    LessonFactory,
    MembershipFactory,
    TopicFactory,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
Role = CohortMembership.Role


async def socket(path: str, user=None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        client = AsyncClient()
        await client.aforce_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


@sync_to_async
def make_cohort():
    topic = TopicFactory()
    lesson = LessonFactory(topic=topic)
    cohort = CohortFactory(course=topic.course)
    instructor, learner = UserFactory(username="instructor"), UserFactory(username="learner")
    MembershipFactory(cohort=cohort, user=instructor, role=Role.INSTRUCTOR)
    MembershipFactory(cohort=cohort, user=learner)
    return cohort, lesson, instructor, learner


async def dashboard(cohort, instructor) -> WebsocketCommunicator:
    comm = await socket(f"/ws/courses/cohorts/{cohort.pk}/", instructor)
    assert await comm.connect() == (True, None)
    assert await comm.receive_json_from() == {"type": "hello", "cohort_id": cohort.pk}
    return comm


async def test_dashboard_receives_the_row_after_a_lesson_completion_commits():
    from courses.services import lesson_complete

    cohort, lesson, instructor, learner = await make_cohort()
    comm = await dashboard(cohort, instructor)

    await sync_to_async(lesson_complete)(user=learner, lesson=lesson)

    message = await comm.receive_json_from(timeout=2)
    expected = await sync_to_async(cohort_views.learner_row_html)(cohort_id=cohort.pk, user_id=learner.pk)
    assert message["type"] == "activity"
    assert message["kind"] == "lesson_completed"
    assert (message["user_id"], message["name"]) == (learner.pk, learner.name)
    assert message["html"] == expected
    assert "1 / 1" in message["html"]
    await comm.disconnect()


async def test_dashboard_receives_nothing_when_the_transaction_rolls_back():
    from courses.services import lesson_complete

    cohort, lesson, instructor, learner = await make_cohort()
    comm = await dashboard(cohort, instructor)

    @sync_to_async
    def complete_then_fail():
        with transaction.atomic():
            lesson_complete(user=learner, lesson=lesson)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await complete_then_fail()
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_other_cohorts_dashboards_hear_nothing():
    cohort, _, instructor, learner = await make_cohort()
    other_cohort = await sync_to_async(CohortFactory)(course=cohort.course)
    await sync_to_async(MembershipFactory)(cohort=other_cohort, user=instructor, role=Role.INSTRUCTOR)
    comm = await dashboard(other_cohort, instructor)
    await sync_to_async(events.publish_learner_activity)(user_id=learner.pk, kind="question_answered")
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


@pytest.mark.parametrize("who", ["anonymous", "learner", "other_instructor"])
async def test_dashboard_socket_refuses_everyone_but_its_instructors(who):
    cohort, _, _, learner = await make_cohort()
    user = None
    if who == "learner":
        user = learner
    elif who == "other_instructor":
        user = await sync_to_async(UserFactory)()
        await sync_to_async(MembershipFactory)(
            cohort=await sync_to_async(CohortFactory)(), user=user, role=Role.INSTRUCTOR
        )
    comm = await socket(f"/ws/courses/cohorts/{cohort.pk}/", user)
    connected, code = await comm.connect()
    assert connected is False
    assert code == 1000  # websocket.close before accept: Daphne answers the handshake with 403


async def test_dashboard_socket_refuses_a_foreign_origin():
    cohort, *_ = await make_cohort()
    comm = WebsocketCommunicator(
        application, f"/ws/courses/cohorts/{cohort.pk}/", headers=[(b"origin", b"http://evil.example")]
    )
    assert (await comm.connect())[0] is False


async def test_learner_socket_gets_unread_count_presence_and_announcements():
    cohort, _, instructor, learner = await make_cohort()
    board = await dashboard(cohort, instructor)
    comm = await socket("/ws/courses/me/", learner)
    assert await comm.connect() == (True, None)
    assert await comm.receive_json_from() == {"type": "unread", "count": 0}
    presence = await board.receive_json_from(timeout=2)
    assert presence["type"] == "presence"
    assert 'class="presence presence-on"' in presence["html"]
    assert await LearnerConnection.objects.filter(user=learner).acount() == 1

    await sync_to_async(cohort_services.announcement_post)(
        cohort=cohort, author=instructor, title="Quiz on Friday", body="<b>Bring</b> questions."
    )
    message = await comm.receive_json_from(timeout=2)
    assert message["type"] == "announcement"
    assert (message["title"], message["body"], message["cohort_name"]) == (
        "Quiz on Friday",
        "<b>Bring</b> questions.",  # the client inserts it as text, never as HTML
        cohort.name,
    )
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from() == {"type": "pong"}

    await comm.disconnect()
    offline = await board.receive_json_from(timeout=2)
    assert offline["type"] == "presence"
    assert 'class="presence"' in offline["html"]
    assert await LearnerConnection.objects.filter(user=learner).acount() == 0
    await board.disconnect()


async def test_targeted_announcement_reaches_only_its_recipients():
    cohort, _, instructor, learner = await make_cohort()
    other = await sync_to_async(UserFactory)()
    await sync_to_async(MembershipFactory)(cohort=cohort, user=other)
    mine, theirs = await socket("/ws/courses/me/", learner), await socket("/ws/courses/me/", other)
    for comm in (mine, theirs):
        assert (await comm.connect())[0] is True
        await comm.receive_json_from()  # unread
    await sync_to_async(cohort_services.announcement_post)(
        cohort=cohort, author=instructor, title="Catch up", body="Let's talk.", recipient_ids=[learner.pk]
    )
    assert (await mine.receive_json_from(timeout=2))["title"] == "Catch up"
    assert await theirs.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await theirs.disconnect()


async def test_learner_socket_refuses_anonymous():
    comm = await socket("/ws/courses/me/")
    assert (await comm.connect())[0] is False


async def test_unread_count_after_an_offline_announcement():
    cohort, _, instructor, learner = await make_cohort()
    await sync_to_async(cohort_services.announcement_post)(
        cohort=cohort, author=instructor, title="While you were away", body="Hello."
    )
    comm = await socket("/ws/courses/me/", learner)
    assert (await comm.connect())[0] is True
    assert await comm.receive_json_from() == {"type": "unread", "count": 1}
    await comm.disconnect()


async def test_dashboard_socket_closes_once_the_instructor_left():
    cohort, _, instructor, learner = await make_cohort()
    co = await sync_to_async(UserFactory)()
    await sync_to_async(MembershipFactory)(cohort=cohort, user=co, role=Role.INSTRUCTOR)
    comm = await dashboard(cohort, instructor)
    membership = await CohortMembership.objects.aget(cohort=cohort, user=instructor)
    await sync_to_async(cohort_services.membership_leave)(membership=membership)
    await sync_to_async(events.publish_learner_activity)(user_id=learner.pk, kind="lesson_viewed")
    assert await comm.receive_output(timeout=2) == {"type": "websocket.close", "code": 4403}


async def test_dashboard_hears_a_practice_answer_recorded_by_the_quizzes_service():
    from django.utils import timezone

    from quizzes.services import answer_record
    from tests.courses.cohort_factories import QuestionFactory

    cohort, _, instructor, learner = await make_cohort()
    question = await sync_to_async(QuestionFactory)()
    comm = await dashboard(cohort, instructor)
    await sync_to_async(answer_record)(
        user_id=learner.pk, question=question, response={"choice": "a"}, mode="practice", now=timezone.now()
    )
    message = await comm.receive_json_from(timeout=2)
    assert (message["type"], message["kind"], message["user_id"]) == (
        "activity",
        "question_answered",
        learner.pk,
    )
    assert "0\xa0minutes ago" in message["html"]  # last active: just now
    await comm.disconnect()
