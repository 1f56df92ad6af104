"""Build the form a browser would post for a question, right or wrong."""

from quizzes.grading import token
from quizzes.models import Question


def post_for(question: Question, seed: str, *, right: bool = True) -> dict:
    data, key = question.data, question.answer
    if question.type in ("single", "scenario", "red_flag"):
        choice = key if right else next(o for o in data["options"] if o != key)
        return {"question": question.pk, "choice": token(seed, choice), "justification": "Because."}
    if question.type == "multiple":
        picks = key if right else [o for o in data["options"] if o not in key]
        return {"question": question.pk, "choice": [token(seed, c) for c in picks]}
    if question.type == "ordering":
        order = key if right else list(reversed(key))
        return {"question": question.pk, "order": [token(seed, i) for i in order]}
    if question.type == "matching":
        rights = list(data["right"])
        return {
            "question": question.pk,
            **{
                f"match-{left}": token(seed, want if right else next(r for r in rights if r != want))
                for left, want in key.items()
            },
        }
    return {"question": question.pk, "text": "My answer, from memory."}
