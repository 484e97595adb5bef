"""The task form, used for quick add, the full form and inline edits."""

import re

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..forms_util import strip
from ..models import PRIORITIES, PRIORITY_LABELS, STATUS_LABELS, STATUSES
from ..services.tasks import CITY_MAX, DESCRIPTION_MAX, TITLE_MAX, TaskData


class TaskForm(FlaskForm):
    title = StringField(
        "Title", validators=[DataRequired("Title is required."), Length(max=TITLE_MAX)],
        filters=[strip],
    )
    description = TextAreaField(
        "Description", validators=[Optional(), Length(max=DESCRIPTION_MAX)], filters=[strip]
    )
    # A missing status or priority (quick add sends only a title) keeps the default.
    status = SelectField(
        "Status", choices=[SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES], default="pending"
    )
    priority = SelectField(
        "Priority",
        choices=[SelectChoice(p, PRIORITY_LABELS[p]) for p in PRIORITIES],
        default="medium",
    )
    due_date = DateField("Due date", validators=[Optional()])
    owner_id = SelectField("Owner", coerce=int, validate_choice=True)
    city = StringField("City", validators=[Optional(), Length(max=CITY_MAX)], filters=[strip],
                       description="Shows the current weather there.")
    # The service checks and normalises it (owner/name or its github.com address).
    repo = StringField("GitHub repository", validators=[Optional(), Length(max=200)],
                       filters=[strip], description="owner/name or https://github.com/owner/name")
    version = HiddenField()
    # A random key per rendered create form, so submitting it twice creates one task.
    submission_key = HiddenField()

    def __init__(self, *args, owners=None, **kwargs):
        """`owners`: the users the actor may assign to; without it the field is removed."""
        task = kwargs.get("obj")
        if task is not None and "repo" not in kwargs:
            kwargs["repo"] = task.repo_full_name  # the form field has the shorter name
        super().__init__(*args, **kwargs)
        if owners is None or len(owners) < 2:
            del self.owner_id
        else:
            self.owner_id.choices = [
                SelectChoice(u.id, f"{u.display_name} ({u.username})") for u in owners
            ]

    def to_data(self) -> TaskData:
        """The submitted values as the service expects them."""
        owner = getattr(self, "owner_id", None)
        return TaskData(
            title=self.title.data or "",
            description=self.description.data,
            status=self.status.data,
            priority=self.priority.data,
            due_date=self.due_date.data,
            owner_id=owner.data if owner is not None else None,
            city=self.city.data,
            repo=self.repo.data,
        )

    def expected_version(self) -> int | None:
        """The task version the form was loaded with, when it carries one.

        Read from what was sent, not from `data`: a form built on a task falls back to the
        task's own version (an int) when the field is missing, which would also defeat the
        stale-edit check.
        """
        value = (self.version.raw_data or [""])[0]
        value = value.strip() if isinstance(value, str) else ""
        return int(value) if value.isdigit() and len(value) < 10 else None

    def submission_key_value(self) -> str | None:
        """The create form's submission key, when it carries a well-formed one."""
        value = self.submission_key.data or ""
        return value if SUBMISSION_KEY_RE.fullmatch(value) else None


SUBMISSION_KEY_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


