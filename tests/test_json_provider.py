"""Flask's JSON goes through orjson, and means what Flask's default provider meant."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import render_template_string
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from tests.conftest import bearer
from webapp.json_provider import OrjsonProvider


@dataclass
class Point:
    x: int
    label: str


PAYLOAD = {
    "text": "Straße, Café, 東京, emoji 🚀, quote \" and backslash \\",
    "numbers": [0, -1, 2**40, 1.5, 1e-7],
    "flags": [True, False, None],
    "nested": {"b": {"c": [1, {"d": "e"}]}, "a": []},
    "day": date(2026, 3, 1),
    "moment": datetime(2026, 3, 1, 12, 30, 5),
    "aware": datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC),
    "money": Decimal("12.50"),
    "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "safe": Markup("<b>bold</b>"),
    "point": Point(3, "ä"),
    7: "an int key",
}


def test_app_json_is_orjson(app):
    assert isinstance(app.json, OrjsonProvider)


def test_output_means_what_flasks_default_gave(app):
    ours = app.json.dumps(PAYLOAD)
    default = DefaultJSONProvider(app)
    default.sort_keys = False  # it cannot sort an int key among strings
    flasks = default.dumps(PAYLOAD)
    assert json.loads(ours) == json.loads(flasks)
    assert "Straße" in ours and "\\u00df" not in ours  # UTF-8, not escapes
    assert app.json.loads(ours.encode()) == json.loads(flasks)


def test_unknown_types_still_refused(app):
    with pytest.raises(TypeError):
        app.json.dumps({"x": object()})


def test_api_answer_is_utf8_json(client, user, make_task, make_token):
    make_task(user, "Café für Straße", description="東京")
    resp = client.get("/api/tasks", headers=bearer(make_token(user)))
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert "Café für Straße".encode() in resp.data and resp.data.endswith(b"\n")
    task = resp.get_json()["tasks"][0]
    assert (task["title"], task["description"]) == ("Café für Straße", "東京")


def test_tojson_filter_sorts_and_escapes_for_html(app):
    with app.test_request_context():
        out = render_template_string("{{ value|tojson }}", value={"b": "</script>", "a": "é"})
    assert out.startswith('{"a":') and "</script>" not in out
    assert json.loads(out) == {"a": "é", "b": "</script>"}
