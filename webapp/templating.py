"""Template helpers shared by every page: labels, dates in the viewer's zone, palettes."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, g
from flask_login import current_user
from markupsafe import Markup

from .markdown import render_markdown
from .models import LABEL_COLOURS, PRIORITY_LABELS, STATUS_LABELS, STATUSES
from .services.attachments import human_size
from .services.dates import due_state, relative_day, to_local, today_for
from .services.labels import LABEL_COLOUR_NAMES
from .services.permissions import can

TIME_HTML = Markup('<time datetime="{}" title="{} UTC">{} <span class="zone">{}</span></time>')


def viewer_today() -> date:
    """Today where the viewer is (once per request)."""
    if "viewer_today" not in g:
        g.viewer_today = today_for(current_user)
    return g.viewer_today


def local_time(moment: datetime | None, seconds: bool = False) -> Markup:
    """A stored UTC timestamp as a <time> in the viewer's zone; the UTC instant stays in
    `datetime` and in the tooltip."""
    if moment is None:
        return Markup("")
    local = to_local(moment, current_user)
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    zone = local.tzname() or ""
    iso = moment.isoformat(timespec="seconds") + "Z"
    return TIME_HTML.format(iso, moment.strftime("%Y-%m-%d %H:%M"), shown, zone)


def due_date_html(day: date | None, completed: bool = False) -> Markup:
    """A due date as people read it ("tomorrow", "in 3 days"), the ISO date in `datetime`
    and the tooltip, marked when overdue or due today."""
    if day is None:
        return Markup("")
    today = viewer_today()
    state = due_state(day, today, completed)
    css = f" due-{state}" if state else ""
    flag = {"overdue": "Overdue: ", "today": ""}.get(state or "", "")
    prefix = Markup('<span class="visually-hidden">{}</span>').format(flag) if flag else ""
    return Markup('<time class="due{}" datetime="{}" title="{}">{}{}</time>').format(
        css, day.isoformat(), day.isoformat(), prefix, relative_day(day, today))


def due_css(task) -> str:
    """"due-overdue", "due-today" or "" for a task's row or card."""
    state = due_state(task.due_date, viewer_today(), task.is_completed)
    return f"due-{state}" if state else ""


def label_chip(label, href: str | None = None) -> Markup:
    """A label as a coloured chip (a link when given one)."""
    inner = Markup('<span class="label-hash" aria-hidden="true">#</span>{}').format(label.name)
    if href:
        return Markup('<a class="label-chip label-{}" href="{}">{}</a>').format(
            label.colour, href, inner)
    return Markup('<span class="label-chip label-{}">{}</span>').format(label.colour, inner)


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(
        status_labels=STATUS_LABELS, priority_labels=PRIORITY_LABELS, statuses=STATUSES,
        label_colours=LABEL_COLOURS, label_colour_names=LABEL_COLOUR_NAMES,
        viewer_today=viewer_today, local_time=local_time, due_date_html=due_date_html,
        due_css=due_css, label_chip=label_chip,
        # `can` lets a template show only the actions the service would allow.
        can=can,
    )
    app.jinja_env.filters.update(markdown=render_markdown, human_size=human_size)
