"""The task form, used for quick add, the full form and inline edits."""

import re

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..forms_util import strip
from ..models import PRIORITIES, PRIORITY_LABELS, STATUS_LABELS, STATUSES
from ..services.labels import LABEL_NAME_RULE, split_names
from ..services.tasks import CITY_MAX, DESCRIPTION_MAX, TITLE_MAX, TaskData

# The quick-add line may be longer than a title: its markers (!high #work friday) go.
QUICK_ADD_MAX = 300


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
    # Not "labels": a form control of that name would shadow HTMLFormElement's own properties
    # in the browser (form.labels), which scripts and assistive tools read.
    label_names = StringField(
        "Labels", validators=[Optional(), Length(max=700)], filters=[strip],
        description=f"Separate with spaces or commas; a new name creates a label "
                    f"({LABEL_NAME_RULE}).",
    )
    version = HiddenField()
    # A random key per rendered create form, so submitting it twice creates one task.
    submission_key = HiddenField()

    def __init__(self, *args, owners=None, **kwargs):
        """`owners`: the users the actor may assign to; without it the field is removed."""
        task = kwargs.get("obj")
        if task is not None and "repo" not in kwargs:
            kwargs["repo"] = task.repo_full_name  # the form field has the shorter name
        if task is not None and "label_names" not in kwargs:
            kwargs["label_names"] = " ".join(label.name for label in task.labels)
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
            # A post without the field (a script, an older form) leaves the labels alone.
            labels=split_names(self.label_names.data) if self.label_names.raw_data else None,
        )

    # The service names the field "labels" in its errors.
    field_aliases = {"labels": "label_names"}

    def expected_version(self) -> int | None:
        """The task version the form was loaded with, when it carries one."""
        value = (self.version.data or "").strip()
        return int(value) if value.isdigit() and len(value) < 10 else None

    def submission_key_value(self) -> str | None:
        """The create form's submission key, when it carries a well-formed one."""
        value = self.submission_key.data or ""
        return value if SUBMISSION_KEY_RE.fullmatch(value) else None


SUBMISSION_KEY_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")




class QuickAddForm(FlaskForm):
    """One line that says it all: "Call Bob tomorrow !high #work" (services.quick_add)."""

    title = StringField(
        "Add a task", validators=[Length(max=QUICK_ADD_MAX)], filters=[strip],
        description="Try: Call Bob tomorrow !high #work",
    )
    submission_key = HiddenField()

    def submission_key_value(self) -> str | None:
        value = self.submission_key.data or ""
        return value if SUBMISSION_KEY_RE.fullmatch(value) else None


class RowFieldsForm(FlaskForm):
    """A change from a row of the list or a board card: any of title, status, priority and
    due date, with the version the row was drawn with. Fields not sent stay as they are."""

    title = StringField("Title", validators=[Optional(), Length(max=TITLE_MAX)],
                        filters=[strip])
    status = SelectField("Status", choices=[SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES],
                         validate_choice=True)
    priority = SelectField(
        "Priority", choices=[SelectChoice(p, PRIORITY_LABELS[p]) for p in PRIORITIES],
        validate_choice=True)
    due_date = DateField("Due date", validators=[Optional()])
    version = HiddenField()

    def changes(self) -> dict:
        """The fields the request sent, as the service's change_task takes them."""
        sent = {name: getattr(self, name) for name in ("title", "status", "priority",
                                                        "due_date")
                if getattr(self, name).raw_data}
        return {name: field.data for name, field in sent.items()}

    def validate(self, extra_validators=None) -> bool:
        # Fields not sent are not checked: a row sends only what it changes.
        for name in ("status", "priority"):
            field = getattr(self, name)
            if not field.raw_data:
                field.validate_choice = False
        return super().validate(extra_validators)

    def expected_version(self) -> int | None:
        value = (self.version.data or "").strip()
        return int(value) if value.isdigit() and len(value) < 10 else None


class TaskLabelsForm(FlaskForm):
    """A task's labels, chosen from the owner's and/or typed (board cards, detail page)."""

    chosen = SelectMultipleField("Labels", choices=[], validate_choice=False)
    new_labels = StringField("New labels", validators=[Optional(), Length(max=700)],
                             filters=[strip], description="Separate with spaces or commas.")
    version = HiddenField()

    def names(self) -> list[str]:
        return [*(self.chosen.data or []), *split_names(self.new_labels.data)]
