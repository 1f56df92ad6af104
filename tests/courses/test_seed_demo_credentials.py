from io import StringIO

from django.contrib.auth import authenticate
from django.core.management import call_command


def test_seed_demo_prints_both_log_ins_and_they_work(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "Demo log-ins: instructor / handshake, learner / handshake" in out.getvalue()
    assert authenticate(username="instructor", password="handshake") is not None
    assert authenticate(username="learner", password="handshake") is not None
