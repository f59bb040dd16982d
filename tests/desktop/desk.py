#!/usr/bin/python3
"""The desktop around the real app, as a window manager and a tray host see it.

Run with Debian's python3 (python3-xlib), on the app's display and session bus:

  desk.py windows            each Relcal top-level window: id, pid, shown, x, y, width, height (JSON)
  desk.py close              asks each Relcal window to close (WM_DELETE_WINDOW, as a
                             window manager's close button does)
  desk.py tray               the tray menu's labels, once the app's tray is on the bus (JSON)
  desk.py tray-click LABEL   clicks the tray menu item with that label
"""
import json
import re
import subprocess
import sys

MENU_PATH = "/org/ayatana/NotificationItem/tray_icon_tray_app_relcal/Menu"


def relcal_windows(display):
    from Xlib import X

    root = display.screen().root
    found = []
    for w in root.query_tree().children:
        try:
            name = w.get_wm_name()
            attrs = w.get_attributes()
        except Exception:  # a window gone meanwhile
            continue
        if name != "Relcal":
            continue
        pid_atom = display.intern_atom("_NET_WM_PID")
        prop = w.get_full_property(pid_atom, X.AnyPropertyType)
        geo = w.get_geometry()
        at = w.translate_coords(root, 0, 0)
        found.append(
            {
                "id": w.id,
                "pid": int(prop.value[0]) if prop else None,
                "shown": attrs.map_state == X.IsViewable,
                "x": -at.x,
                "y": -at.y,
                "width": geo.width,
                "height": geo.height,
                "window": w,
            }
        )
    return found


def windows():
    from Xlib import display as xdisplay

    d = xdisplay.Display()
    print(json.dumps([{k: v for k, v in w.items() if k != "window"} for w in relcal_windows(d)]))


def close():
    from Xlib import X, display as xdisplay
    from Xlib.protocol import event

    d = xdisplay.Display()
    protocols = d.intern_atom("WM_PROTOCOLS")
    delete = d.intern_atom("WM_DELETE_WINDOW")
    wins = relcal_windows(d)
    if not wins:
        sys.exit("desk.py close: no Relcal window")
    for w in wins:
        ev = event.ClientMessage(window=w["window"], client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
        w["window"].send_event(ev, event_mask=X.NoEventMask)
    d.flush()
    print(len(wins))


def bus_names():
    out = subprocess.run(
        ["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.ListNames"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return re.findall(r"':1\.\d+'", out)


def layout():
    """(bus name, [(item id, label)]) of the app's tray menu, or None."""
    for quoted in bus_names():
        name = quoted.strip("'")
        out = subprocess.run(
            ["gdbus", "call", "--session", "--dest", name, "--object-path", MENU_PATH, "--method", "com.canonical.dbusmenu.GetLayout", "--", "0", "-1", "['label']"],
            capture_output=True,
            text=True,
        )
        if out.returncode == 0 and "label" in out.stdout:
            # The root (id 0) has a label of its own: only the items.
            items = [(int(i), label) for i, label in re.findall(r"<\((\d+), \{'label': <'([^']*)'>", out.stdout)]
            return name, items
    return None


def tray():
    found = layout()
    print(json.dumps([label for _, label in found[1]] if found else None))


def tray_click(label):
    found = layout()
    if not found:
        sys.exit("desk.py tray-click: no tray menu on the bus")
    name, items = found
    ids = [i for i, l in items if l == label]
    if not ids:
        sys.exit(f"desk.py tray-click: no item {label!r} in {[l for _, l in items]}")
    subprocess.run(
        ["gdbus", "call", "--session", "--dest", name, "--object-path", MENU_PATH, "--method", "com.canonical.dbusmenu.Event", "--", str(ids[0]), "'clicked'", "<0>", "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    print(ids[0])


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "windows":
        windows()
    elif cmd == "close":
        close()
    elif cmd == "tray":
        tray()
    elif cmd == "tray-click" and len(sys.argv) == 3:
        tray_click(sys.argv[2])
    else:
        sys.exit(__doc__)
