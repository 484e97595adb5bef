"""The task's page and its fragments run as many SQL statements with many files and comments
(from several people) as with few: files, status changes and comments are one query each,
their people joined."""

from __future__ import annotations

import io

from tests.conftest import HTMX
from tests.test_query_counts import statement_count
from webapp.extensions import db
from webapp.models import User
from webapp.services import attachments, comments


def add(app, task_id: int, count: int, people) -> None:
    with app.app_context():
        for n in range(count):
            person = db.session.get(User, people[n % len(people)].id)
            attachments.upload_attachments(person, task_id, [
                attachments.IncomingFile(f"f{n}.txt", io.BytesIO(b"text\n"))])
            comments.add_comment(person, task_id, f"comment {n}")
        db.session.remove()


def test_task_page_queries_do_not_grow_with_files_and_comments(app, user_client, user,
                                                               make_user, make_task,
                                                               local_storage):
    admins = [make_user(f"admin{n}", role="admin") for n in range(3)]
    few, many = make_task(user, "Few"), make_task(user, "Many")
    add(app, few, 2, [user])
    add(app, many, 12, [user, *admins])

    for path, headers in (("/tasks/{}", None), ("/tasks/{}/attachments", HTMX),
                          ("/tasks/{}/comments", HTMX)):
        assert statement_count(app, user_client, path.format(few), headers) == \
            statement_count(app, user_client, path.format(many), headers), path
