from django.urls import path

from quizzes import views

app_name = "quizzes"

urlpatterns = [
    path("", views.home, name="home"),
    path("practice/", views.practice_start, name="practice-start"),
    path("practice/<int:session_id>/", views.practice_detail, name="practice-detail"),
    path("practice/<int:session_id>/answer/", views.practice_answer, name="practice-answer"),
    path("practice/<int:session_id>/skip/", views.practice_skip, name="practice-skip"),
    path("practice/<int:session_id>/grade/<int:answer_id>/", views.practice_grade, name="practice-grade"),
    path("practice/<int:session_id>/finish/", views.practice_finish, name="practice-finish"),
    path("practice/<int:session_id>/summary/", views.practice_summary, name="practice-summary"),
    path("mock/", views.mock_start, name="mock-start"),
    path("mock/history/<str:level>/", views.attempt_history, name="attempt-history"),
    path("mock/<int:attempt_id>/", views.attempt_detail, name="attempt-detail"),
    path("mock/<int:attempt_id>/answer/", views.attempt_answer, name="attempt-answer"),
    path("mock/<int:attempt_id>/submit/", views.attempt_submit, name="attempt-submit"),
    path("mock/<int:attempt_id>/review/", views.attempt_review, name="attempt-review"),
    path("mock/<int:attempt_id>/grade/<int:question_id>/", views.attempt_grade, name="attempt-grade"),
    path("review/", views.review, name="review"),
    path("review/answer/", views.review_answer, name="review-answer"),
    path("review/grade/<int:answer_id>/", views.review_grade, name="review-grade"),
]
