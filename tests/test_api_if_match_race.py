"""Writes racing with one If-Match against a real server: threads released together by a
Barrier, each with its own connection. The version check and the write are one step (the
UPDATE names the version that was checked), so exactly one write applies and the others
answer 412 with nothing changed (or 404 once the winner was a delete)."""

from __future__ import annotations

import threading

import requests
import sqlalchemy as sa

from tests.conftest import bearer
from webapp.extensions import db
from webapp.models import Task

ROUNDS = 4


def race(requests_to_send: list[tuple[str, str, dict | None]], headers: dict
         ) -> list[requests.Response]:
    barrier = threading.Barrier(len(requests_to_send))
    answers: list = [None] * len(requests_to_send)

    def send(slot: int) -> None:
        method, url, body = requests_to_send[slot]
        with requests.Session() as session:  # a connection of its own
            barrier.wait()
            try:
                answers[slot] = session.request(method, url, json=body, headers=headers,
                                                timeout=30)
            except BaseException as error:  # noqa: BLE001 (reported below)
                answers[slot] = error

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(requests_to_send))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(isinstance(a, requests.Response) for a in answers), answers
    return answers


def stored(app, task_id: int) -> Task | None:
    with app.app_context():
        task = db.session.scalar(sa.select(Task).where(Task.id == task_id,
                                                       Task.deleted_at.is_(None)))
        db.session.expunge_all()
        return task


def test_racing_writes_with_one_if_match_apply_once(app, live_server, make_token, make_task,
                                                    user):
    headers = bearer(make_token(user, write=True))
    for round_number in range(ROUNDS):
        task_id = make_task(user)
        url = f"{live_server}/api/tasks/{task_id}"
        version = stored(app, task_id).version
        writes = [
            ("PATCH", url, {"title": f"First {round_number}"}),
            ("PATCH", url, {"title": f"Second {round_number}"}),
            ("POST", f"{url}/complete", None),
            ("DELETE", url, None),
        ]
        answers = race(writes, {**headers, "If-Match": f'"{version}"'})

        statuses = [a.status_code for a in answers]
        winners = [n for n, status in enumerate(statuses) if status < 300]
        assert len(winners) == 1, [(a.status_code, a.text[:200]) for a in answers]
        assert set(statuses) - {statuses[winners[0]]} <= {412, 404}, statuses
        for refused in (a for a in answers if a.status_code == 412):
            assert refused.json()["code"] == "precondition_failed"
        after = stored(app, task_id)
        method, _, body = writes[winners[0]]
        if method == "DELETE":
            assert after is None
        else:
            assert after.version == version + 1  # one write, not two
            if body:
                assert after.title == body["title"]
            else:
                assert after.status == "completed"
