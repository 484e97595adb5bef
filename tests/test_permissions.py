"""The access table: role x action x ownership -> allowed?"""

from types import SimpleNamespace

import pytest

from webapp.services.permissions import can


def person(role="user", ident=1, active=True):
    return SimpleNamespace(id=ident, role=role, is_admin=role == "admin",
                           is_authenticated=True, is_active=active)


OWN = SimpleNamespace(owner_id=1)
OTHERS = SimpleNamespace(owner_id=2)


@pytest.mark.parametrize("action", ["view", "update", "delete", "comment", "attach"])
@pytest.mark.parametrize("who,task,allowed", [
    (person("user"), OWN, True),
    (person("user"), OTHERS, False),
    (person("admin"), OTHERS, True),
    (person("user", active=False), OWN, False),
    (None, OWN, False),
])
def test_task_actions(who, task, allowed, action):
    assert can(who, action, task) is allowed


@pytest.mark.parametrize("action", ["view_all_tasks", "manage_users", "view_all_stats", "assign"])
def test_only_admins_have_global_powers(action):
    assert can(person("admin"), action) is True
    assert can(person("user"), action) is False


def test_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        can(person("admin"), "launch_rockets")


MINE = SimpleNamespace(author_id=1)
THEIRS = SimpleNamespace(author_id=2)


@pytest.mark.parametrize("who,comment,action,allowed", [
    (person("user"), MINE, "edit_comment", True),
    (person("user"), MINE, "delete_comment", True),
    (person("user"), THEIRS, "edit_comment", False),
    (person("user"), THEIRS, "delete_comment", False),
    (person("admin", ident=9), THEIRS, "edit_comment", False),
    (person("admin", ident=9), THEIRS, "delete_comment", True),
    (person("user", active=False), MINE, "edit_comment", False),
    (None, MINE, "delete_comment", False),
])
def test_comment_actions(who, comment, action, allowed):
    assert can(who, action, comment) is allowed
