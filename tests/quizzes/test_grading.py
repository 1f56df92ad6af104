"""Per-type parsing and scoring, tokens, and a display that never gives the key away (no database)."""

import pytest
from django.http import QueryDict
from fsrs import Rating

from quizzes import grading
from quizzes.grading import ResponseError, token

SEED = "practice-1-2"
OPTIONS = {"options": {"a": "Alpha", "b": "Bravo", "c": "Charlie", "d": "Delta"}}
ITEMS = {"items": {"a": "gRPC", "b": "HTTP/2", "c": "TCP"}}
MATCH = {"left": {"1": "WebSockets", "2": "SSE"}, "right": {"x": "Chat", "y": "Scores", "z": "Files"}}


def qd(**fields) -> QueryDict:
    q = QueryDict(mutable=True)
    for name, value in fields.items():
        q.setlist(name, value if isinstance(value, list) else [value])
    return q


def t(*ids):
    return [token(SEED, i) for i in ids]


def test_single_choice_scores_one_or_zero():
    response = grading.parse_response(type_="single", data=OPTIONS, post=qd(choice=t("b")[0]), seed=SEED)
    assert response == {"choice": "b"}
    assert grading.score_response(type_="single", answer="b", response=response) == (1.0, True)
    assert grading.score_response(type_="single", answer="a", response=response) == (0.0, False)


def test_scenario_keeps_the_justification():
    post = qd(choice=t("a")[0], justification="  Because it is one-way.  ")
    assert grading.parse_response(type_="scenario", data=OPTIONS, post=post, seed=SEED) == {
        "choice": "a",
        "justification": "Because it is one-way.",
    }


def test_red_flag_scores_like_single_choice():
    response = grading.parse_response(type_="red_flag", data=OPTIONS, post=qd(choice=t("c")[0]), seed=SEED)
    assert grading.score_response(type_="red_flag", answer="c", response=response) == (1.0, True)


@pytest.mark.parametrize(
    ("picked", "expected"),
    [
        (["a", "c"], (1.0, True)),
        (["a"], (0.5, False)),
        (["a", "c", "d"], (0.5, False)),
        (["a", "b", "d"], (0.0, False)),
        (["d"], (0.0, False)),
    ],
)
def test_multiple_choice_partial_credit(picked, expected):
    response = grading.parse_response(type_="multiple", data=OPTIONS, post=qd(choice=t(*picked)), seed=SEED)
    assert response == {"choices": sorted(picked)}
    assert grading.score_response(type_="multiple", answer=["a", "c"], response=response) == expected


@pytest.mark.parametrize(
    ("order", "expected"),
    [(["a", "b", "c"], (1.0, True)), (["a", "c", "b"], (0.3333, False)), (["c", "b", "a"], (0.3333, False))],
)
def test_ordering_scores_positions_in_place(order, expected):
    response = grading.parse_response(type_="ordering", data=ITEMS, post=qd(order=t(*order)), seed=SEED)
    assert response == {"order": order}
    assert grading.score_response(type_="ordering", answer=["a", "b", "c"], response=response) == expected


def test_matching_scores_share_of_pairs():
    post = qd(**{"match-1": token(SEED, "x"), "match-2": token(SEED, "z")})
    response = grading.parse_response(type_="matching", data=MATCH, post=post, seed=SEED)
    assert response == {"matches": {"1": "x", "2": "z"}}
    assert grading.score_response(type_="matching", answer={"1": "x", "2": "y"}, response=response) == (
        0.5,
        False,
    )
    assert grading.score_response(type_="matching", answer={"1": "x", "2": "z"}, response=response) == (
        1.0,
        True,
    )


def test_free_response_waits_for_self_grading():
    response = grading.parse_response(type_="free", data={}, post=qd(text="  TCP is reliable.  "), seed=SEED)
    assert response == {"text": "TCP is reliable."}
    assert grading.score_response(type_="free", answer=None, response=response) == (None, None)
    rubric = ["one", "two", "three", "four", "five"]
    assert grading.self_grade_score(rubric=rubric, met=[0, 1, 2]) == (0.6, True)
    assert grading.self_grade_score(rubric=rubric, met=[0, 1]) == (0.4, False)


@pytest.mark.parametrize(
    ("type_", "data", "post", "message"),
    [
        ("single", OPTIONS, qd(), "Choose one of the options."),
        ("single", OPTIONS, qd(choice="a"), "That option is not part of this question."),
        ("single", OPTIONS, qd(choice=t("a", "b")), "Send one value for 'choice', not 2."),
        ("multiple", OPTIONS, qd(choice=t("a", "a")), "Those options are not part of this question."),
        ("multiple", OPTIONS, qd(), "Choose at least one option."),
        ("ordering", ITEMS, qd(order=t("a", "a", "b")), "Put every item in exactly one position."),
        ("ordering", ITEMS, qd(order=t("a", "b")), "Put every item in exactly one position."),
        ("matching", MATCH, qd(**{"match-1": token(SEED, "x")}), "Match every item on the left."),
        ("matching", MATCH, qd(**{"match-1": "x", "match-2": "y"}), "That match is not one of the choices."),
        ("free", {}, qd(text="   "), "Write your answer before submitting."),
        ("free", {}, qd(text="x" * 5001), "Keep your answer under 5000 characters (it has 5001)."),
        (
            "scenario",
            OPTIONS,
            qd(choice=t("a")[0], justification="y" * 2001),
            "Keep the justification under 2000 characters.",
        ),
    ],
)
def test_parse_response_wrong_shape_is_refused(type_, data, post, message):
    with pytest.raises(ResponseError) as exc:
        grading.parse_response(type_=type_, data=data, post=post, seed=SEED)
    assert str(exc.value) == message


def test_tokens_from_another_seed_are_refused():
    other = token("practice-1-3", "a")
    with pytest.raises(ResponseError, match="not part of this question"):
        grading.parse_response(type_="single", data=OPTIONS, post=qd(choice=other), seed=SEED)


def test_display_hides_bank_ids_and_is_stable_per_seed():
    first = grading.display(type_="single", data=OPTIONS, answer="a", seed=SEED)
    again = grading.display(type_="single", data=OPTIONS, answer="a", seed=SEED)
    assert first == again
    assert {c.id for c in first["options"]}.isdisjoint(OPTIONS["options"])
    assert sorted(c.text for c in first["options"]) == sorted(OPTIONS["options"].values())


@pytest.mark.parametrize("seed", [f"mock-{n}-7" for n in range(40)])
def test_display_never_shows_ordering_items_in_the_correct_order(seed):
    shown = grading.display(type_="ordering", data=ITEMS, answer=["a", "b", "c"], seed=seed)["items"]
    assert [c.text for c in shown] != ["gRPC", "HTTP/2", "TCP"]


def test_prefill_tokens_round_trip():
    saved = {"order": ["c", "a", "b"]}
    tokens = grading.prefill_tokens(response=saved, seed=SEED)
    assert (
        grading.parse_response(type_="ordering", data=ITEMS, post=qd(order=tokens["order"]), seed=SEED)
        == saved
    )


def test_describe_key_and_response():
    assert grading.describe_key(type_="ordering", data=ITEMS, answer=["a", "b", "c"]) == [
        "1. gRPC",
        "2. HTTP/2",
        "3. TCP",
    ]
    assert grading.describe_response(
        type_="matching", data=MATCH, response={"matches": {"1": "y", "2": "x"}}
    ) == [
        "WebSockets → Scores",
        "SSE → Chat",
    ]


@pytest.mark.parametrize(
    ("score", "rating"), [(1.0, Rating.Good), (0.75, Rating.Hard), (0.5, Rating.Again), (0.0, Rating.Again)]
)
def test_rating_for_score(score, rating):
    assert grading.rating_for(score) is rating


def test_rubric_marks_are_checked():
    assert grading.parse_rubric_marks(rubric=["a", "b", "c"], post=qd(met=["2", "0"])) == [0, 2]
    with pytest.raises(ResponseError, match="not part of this question"):
        grading.parse_rubric_marks(rubric=["a", "b"], post=qd(met=["5"]))
    with pytest.raises(ResponseError, match="Tick rubric points"):
        grading.parse_rubric_marks(rubric=["a", "b"], post=qd(met=["x"]))
    with pytest.raises(ResponseError, match="not part of this question"):
        grading.parse_rubric_marks(rubric=["a", "b"], post=qd(met=["1", "1"]))
