"""schemathesis on the attachment and comment endpoints with a write token (the suite-wide run
in tests/test_openapi.py uses a read-only one): whatever it sends, no 5xx and no answer that
breaks the document. The ids point at a real task, file and comment, so the writes reach the
services rather than stopping at 404."""

from __future__ import annotations

import io

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import bearer
from tests.openapi_check import DOCUMENT
from webapp.extensions import db
from webapp.models import User
from webapp.services import attachments as attachment_service
from webapp.services import comments as comment_service
from webapp.services.attachments import IncomingFile

schema = schemathesis.openapi.from_dict(DOCUMENT).include(
    path_regex=r"^/api/tasks/\{task_id\}/(attachments|comments)")
schema.config.generation.update(allow_extra_parameters=False)  # ignored by design (test_openapi)


@pytest.fixture
def roomy_rate_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "100000/minute")


@pytest.fixture
def seeded(app, user, make_task, make_token, local_storage):
    """A task of alice's with a file and a comment of hers, and her write token."""
    task_id = make_task(user, "Fuzzed")
    with app.app_context():
        actor = db.session.get(User, user.id)
        [attachment] = attachment_service.upload_attachments(
            actor, task_id, [IncomingFile("seed.txt", io.BytesIO(b"seed\n"))])
        comment = comment_service.add_comment(actor, task_id, "Seed")
        ids = {"task_id": task_id, "attachment_id": attachment.id, "comment_id": comment.id}
        db.session.remove()
    return ids, make_token(user, write=True)


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_files_and_comments_api_never_fails_and_matches_its_document(case, app, seeded,
                                                                     roomy_rate_limit):
    ids, token = seeded
    case.operation.schema.app = app
    if case.meta.generation.mode == GenerationMode.POSITIVE:
        # Negative cases keep their generated (invalid) ids: those must be refused.
        for name in case.path_parameters or {}:
            case.path_parameters[name] = ids[name]
    # A schema-valid body may still be refused by a service rule the document cannot
    # express (a blank comment, a file over the quota): documented 4xx answers. `buffered`
    # closes each answer, as a WSGI server does (a download holds its file open until then).
    case.call_and_validate(app=app, headers=bearer(token), buffered=True,
                           excluded_checks=[positive_data_acceptance])
