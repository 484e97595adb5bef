"""Comments in the JSON API: /api/tasks/<id>/comments.

services.comments owns the rules (who may comment, edit, delete; the body's limits and their
messages) and the audit events; this module declares the endpoints and shapes the answers.
"""

from __future__ import annotations

from typing import Annotated

from flask import jsonify, request, url_for
from pydantic import Field, WithJsonSchema

from ..models import Comment
from ..services import comments as comment_service
from ..services.comments import BODY_MAX
from .attachments import Person, person_json
from .auth import api_caller
from .schemas import Count, Timestamp
from .serializers import timestamp
from .spec import WRITE, ApiModel, BodyModel, ErrorBody, Response, endpoint
from .views import COMMON, bp

TAGS = ["comments"]


class CommentObject(ApiModel):
    """A comment on a task; `body` is Markdown as typed (rendered only on the pages)."""

    id: int = Field(ge=1)
    body: str
    author: Person | None = Field(description="null once the account is removed.")
    createdAt: Timestamp
    updatedAt: Timestamp = Field(description="When the body last changed (createdAt when "
                                 "never edited).")
    edited: bool


class CommentList(ApiModel):
    comments: list[CommentObject]
    count: Count


class CommentBody(BodyModel):
    """The comment's text. Leading and trailing spaces are trimmed; it may not be blank."""

    # Any string is taken; the service refuses a blank or too long one with the page's words.
    body: Annotated[str, WithJsonSchema({"type": "string", "minLength": 1,
                                         "maxLength": BODY_MAX,
                                         "examples": ["Looks **good**"]})]


def comment_json(comment: Comment) -> dict:
    """A comment object (see CommentObject)."""
    return {
        "id": comment.id,
        "body": comment.body,
        "author": person_json(comment.author),
        "createdAt": timestamp(comment.created_at),
        "updatedAt": timestamp(comment.updated_at),
        "edited": comment.is_edited,
    }


READ_ERRORS = {"HTTP_404": ErrorBody, **COMMON}
# Any write may also meet the blueprint's body checks (413 over the limit, 415 not JSON).
WRITE_ERRORS = {"HTTP_403": ErrorBody, "HTTP_413": ErrorBody, "HTTP_415": ErrorBody,
                **READ_ERRORS}
BODY_ERRORS = {"HTTP_400": ErrorBody, "HTTP_422": ErrorBody, **WRITE_ERRORS}


@bp.get("/tasks/<int:task_id>/comments")
@endpoint(resp=Response(HTTP_200=CommentList, **READ_ERRORS), tags=TAGS,
          operation_id="list_comments")
def comments(task_id: int):
    """List comments

    The comments of a task, oldest first (another user's task: 404).
    """
    items = comment_service.list_comments(api_caller().user, task_id)
    return jsonify({"comments": [comment_json(item) for item in items], "count": len(items)})


@bp.post("/tasks/<int:task_id>/comments")
@endpoint(json=CommentBody, scope=WRITE, tags=TAGS, operation_id="create_comment",
          resp=Response(HTTP_201=CommentObject, **BODY_ERRORS))
def create_comment(task_id: int):
    """Create a comment

    Comment on a task: its owner or an admin. `Location` is the new comment's address.
    """
    comment = comment_service.add_comment(api_caller().user, task_id,
                                          request.context.json.body)
    location = url_for("api.comment", task_id=task_id, comment_id=comment.id)
    return jsonify(comment_json(comment)), 201, {"Location": location}


@bp.get("/tasks/<int:task_id>/comments/<int:comment_id>")
@endpoint(resp=Response(HTTP_200=CommentObject, **READ_ERRORS), tags=TAGS,
          operation_id="get_comment")
def comment(task_id: int, comment_id: int):
    """Get a comment

    One comment of a task.
    """
    return jsonify(comment_json(comment_service.get_comment_for(api_caller().user, task_id,
                                                                comment_id)))


@bp.patch("/tasks/<int:task_id>/comments/<int:comment_id>")
@endpoint(json=CommentBody, scope=WRITE, tags=TAGS, operation_id="change_comment",
          resp=Response(HTTP_200=CommentObject, **BODY_ERRORS))
def change_comment(task_id: int, comment_id: int):
    """Edit a comment

    Change the text of your own comment; it is then marked as edited (the same text again
    changes nothing). Someone else's comment: 403, for an admin too.
    """
    return jsonify(comment_json(comment_service.update_comment(
        api_caller().user, task_id, comment_id, request.context.json.body)))


@bp.delete("/tasks/<int:task_id>/comments/<int:comment_id>")
@endpoint(scope=WRITE, tags=TAGS, operation_id="delete_comment",
          resp=Response(HTTP_204=None, **WRITE_ERRORS))
def delete_comment(task_id: int, comment_id: int):
    """Delete a comment

    Its author, or an admin, deletes it. Again: 404.
    """
    comment_service.delete_comment(api_caller().user, task_id, comment_id)
    return "", 204
