import pytest

from quizzes.services import bank_paths_default, question_import
from tests.quizzes.factories import content_build


@pytest.fixture
def content(db):
    return content_build()


@pytest.fixture
def banks(content):
    """The real bank files imported on top of the contract's content."""
    return question_import(paths=bank_paths_default())
