#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Reads credgate-manager's accessibility tree over AT-SPI (the same bus a
# screen reader uses) and checks that every control a user can operate has a
# role and an accessible name.  Argument: the application's process id.
import sys
import time

import gi
gi.require_version("Atspi", "2.0")
from gi.repository import Atspi  # noqa: E402

INTERACTIVE = {
    Atspi.Role.PUSH_BUTTON, Atspi.Role.TOGGLE_BUTTON, Atspi.Role.CHECK_BOX,
    Atspi.Role.RADIO_BUTTON, Atspi.Role.TEXT, Atspi.Role.ENTRY,
    Atspi.Role.PASSWORD_TEXT, Atspi.Role.SPIN_BUTTON, Atspi.Role.COMBO_BOX,
    Atspi.Role.LIST_BOX, Atspi.Role.LIST, Atspi.Role.PAGE_TAB,
}


def find_app(pid):
    desktop = Atspi.get_desktop(0)
    for _ in range(300):
        for i in range(desktop.get_child_count()):
            app = desktop.get_child_at_index(i)
            if app is not None and app.get_process_id() == pid:
                return app
        time.sleep(0.1)
    return None


def walk(node, depth, problems, seen):
    if node is None or depth > 60:
        return
    try:
        role = node.get_role()
        name = node.get_name() or ""
        states = node.get_state_set()
    except Exception:
        return
    if states.contains(Atspi.StateType.VISIBLE) and role in INTERACTIVE:
        seen.append((node.get_role_name(), name))
        if role in (Atspi.Role.PUSH_BUTTON, Atspi.Role.CHECK_BOX, Atspi.Role.PAGE_TAB) \
                and "_" in name and not name.startswith(("Edit ", "Delete ", "Bewerk", "Verwijder")):
            # GTK 4.8 names a use-underline button by its raw label.
            problems.append("%s named with a mnemonic underscore: %r" % (node.get_role_name(), name))
        if not name.strip():
            # A text view's name may come from a labelled-by relation only.
            labelled = any(r.get_relation_type() == Atspi.RelationType.LABELLED_BY
                           for r in node.get_relation_set())
            if not labelled:
                problems.append("%s without an accessible name" % node.get_role_name())
    for i in range(node.get_child_count()):
        walk(node.get_child_at_index(i), depth + 1, problems, seen)


def find_named(node, name, depth=0, role=Atspi.Role.TEXT, prefix=False):
    if node is None or depth > 60:
        return None
    try:
        got = node.get_name() or ""
        if (got.startswith(name) if prefix else got == name) \
                and (role is None or node.get_role() == role):
            return node
        for i in range(node.get_child_count()):
            found = find_named(node.get_child_at_index(i), name, depth + 1, role, prefix)
            if found is not None:
                return found
    except Exception:
        return None
    return None


def print_text(app, name):
    """Print the contents of the text view named @name (through AT-SPI's
    Text interface, as a screen reader would read it)."""
    for _ in range(150):
        node = find_named(app, name)
        if node is not None:
            content = Atspi.Text.get_text(node, 0, Atspi.Text.get_character_count(node))
            if content:
                print(content)
                return 0
        time.sleep(0.2)
    print("FAIL: no text in %r" % name)
    return 1


def main():
    pid = int(sys.argv[1])
    app = find_app(pid)
    if app is not None and len(sys.argv) > 3 and sys.argv[2] == "--text":
        return print_text(app, sys.argv[3])
    if app is not None and len(sys.argv) > 3 and sys.argv[2] in ("--find", "--find-prefix"):
        # A visible control with that accessible name (or one starting so),
        # within 30 s: generous, since make check runs other tests beside
        # this one and the window may be slow to get there.
        for _ in range(300):
            node = find_named(app, sys.argv[3], role=None, prefix=sys.argv[2] == "--find-prefix")
            if node is not None and node.get_state_set().contains(Atspi.StateType.VISIBLE):
                return 0
            time.sleep(0.1)
        print("FAIL: nothing visible is named %r" % sys.argv[3])
        return 1
    if app is None:
        print("FAIL: credgate-manager is not on the accessibility bus")
        return 1
    problems, seen = [], []
    for i in range(app.get_child_count()):
        walk(app.get_child_at_index(i), 0, problems, seen)
    for role, name in seen:
        print("#   %-14s %s" % (role, name))
    if not seen:
        print("FAIL: no controls found in the accessibility tree")
        return 1
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


sys.exit(main())
