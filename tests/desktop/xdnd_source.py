"""A stand-in for a file manager in the real-window tests: a small X window that drags the files and folders
named on its command line, speaking XDND (version 5) itself.

    python3 tests/desktop/xdnd_source.py PATH...      (needs python-xlib: Debian's python3-xlib)

Press the mouse on the window, move, release over a window that takes drops: on the press it takes the
pointer and the XdndSelection; each motion finds the XdndAware window under the pointer and sends it
XdndEnter / XdndPosition (XdndLeave when the pointer leaves it); the release sends XdndDrop if the target
said it accepts, and the target reads the paths as text/uri-list through the selection, as from a file
manager. The pointer is moved by whatever moves it (the tests: xdotool's XTEST events). It prints
"dropped: accepted" or "dropped: refused" and exits.

Why not Qt's own drag (QDrag) as the source: between two Qt processes under Xvfb the drop arrived with its
formats but no data (Qt's xcb source did not answer the target's selection request), so it could not stand
in for a file manager. This file imports nothing from PhotoMend and runs on the system Python.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from Xlib import X, Xatom, display
from Xlib.protocol import event as xevent

TITLE = "PhotoMend test drag source"
XDND_VERSION = 5
TIMEOUT_S = 30.0


class DragSource:
    def __init__(self, paths: list[Path]) -> None:
        self.display = display.Display()
        self.screen = self.display.screen()
        self.root = self.screen.root
        self.uri_list = "".join(f"{p.resolve().as_uri()}\r\n" for p in paths).encode()
        self.atoms = {
            name: self.display.intern_atom(name)
            for name in (
                "XdndAware",
                "XdndSelection",
                "XdndEnter",
                "XdndPosition",
                "XdndStatus",
                "XdndLeave",
                "XdndDrop",
                "XdndFinished",
                "XdndActionCopy",
                "XdndTypeList",
                "text/uri-list",
                "text/plain",
                "TARGETS",
                "WM_DELETE_WINDOW",
                "WM_PROTOCOLS",
            )
        }
        self.types = [self.atoms["text/uri-list"], self.atoms["text/plain"]]
        self.window = self.root.create_window(
            0,
            0,
            220,
            120,
            0,
            self.screen.root_depth,
            background_pixel=0xFFE9A8,
            event_mask=X.ButtonPressMask | X.ButtonReleaseMask | X.PointerMotionMask | X.ExposureMask,
        )
        self.window.set_wm_name(TITLE)
        self.window.change_property(self.atoms["XdndTypeList"], Xatom.ATOM, 32, self.types)
        self.window.map()
        self.display.flush()
        self.target: int | None = None  # the XdndAware window the pointer is over
        self.accepted = False
        self.dragging = False
        self.dropped_at: float | None = None

    # --- finding the target -----------------------------------------------------------------------
    def _aware(self, window_id: int) -> bool:
        window = self.display.create_resource_object("window", window_id)
        try:
            prop = window.get_full_property(self.atoms["XdndAware"], X.AnyPropertyType)
        except Exception:  # noqa: BLE001 - a window that went away meanwhile
            return False
        return prop is not None

    def _target_at(self, x: int, y: int) -> int | None:
        """The XdndAware window under root point (x, y): down from the root through the frames the window
        manager put around client windows, skipping our own window."""
        current = self.root
        while True:
            reply = current.translate_coords(self.root, x, y)  # which child of `current` holds (x, y)
            child = reply.child
            if not child or child == X.NONE:
                return None
            child_id = child.id if hasattr(child, "id") else int(child)
            if child_id == self.window.id:
                return None
            if self._aware(child_id):
                return child_id
            current = self.display.create_resource_object("window", child_id)

    # --- XDND messages ----------------------------------------------------------------------------
    def _send(self, target: int, name: str, data: list[int]) -> None:
        window = self.display.create_resource_object("window", target)
        message = xevent.ClientMessage(
            window=window,
            client_type=self.atoms[name],
            data=(32, [self.window.id, *data, *([0] * (4 - len(data)))]),
        )
        window.send_event(message, event_mask=X.NoEventMask)
        self.display.flush()

    def _enter(self, target: int) -> None:
        types = (self.types + [0, 0, 0])[:3]
        self._send(target, "XdndEnter", [XDND_VERSION << 24, *types])

    def _position(self, target: int, x: int, y: int, when: int) -> None:
        self._send(target, "XdndPosition", [0, (x << 16) | y, when, self.atoms["XdndActionCopy"]])

    def _motion(self, x: int, y: int, when: int) -> None:
        target = self._target_at(x, y)
        if target != self.target:
            if self.target is not None:
                self._send(self.target, "XdndLeave", [0])
            self.target, self.accepted = target, False
            if target is not None:
                self._enter(target)
        if target is not None:
            self._position(target, x, y, when)

    # --- the selection: the paths as text/uri-list ---------------------------------------------------
    def _selection_request(self, request: xevent.SelectionRequest) -> None:
        prop = request.property or request.target
        if request.target == self.atoms["TARGETS"]:
            request.requestor.change_property(prop, Xatom.ATOM, 32, [self.atoms["TARGETS"], *self.types])
        elif request.target in self.types:
            request.requestor.change_property(prop, request.target, 8, self.uri_list)
        else:
            prop = X.NONE
        notify = xevent.SelectionNotify(
            time=request.time,
            requestor=request.requestor,
            selection=request.selection,
            target=request.target,
            property=prop,
        )
        request.requestor.send_event(notify, event_mask=X.NoEventMask)
        self.display.flush()

    # --- the loop ----------------------------------------------------------------------------------
    def run(self) -> int:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.display.pending_events():
                time.sleep(0.005)
                if self.dropped_at is not None and time.monotonic() - self.dropped_at > 5.0:
                    print("dropped: no answer", flush=True)
                    return 1
                continue
            event = self.display.next_event()
            if event.type == X.ButtonPress and not self.dragging:
                self.dragging = True
                self.window.grab_pointer(
                    False,
                    X.PointerMotionMask | X.ButtonReleaseMask,
                    X.GrabModeAsync,
                    X.GrabModeAsync,
                    X.NONE,
                    X.NONE,
                    event.time,
                )
                self.window.set_selection_owner(self.atoms["XdndSelection"], event.time)
                self.display.flush()
            elif event.type == X.MotionNotify and self.dragging:
                self._motion(event.root_x, event.root_y, event.time)
            elif event.type == X.ButtonRelease and self.dragging:
                self.dragging = False
                self.display.ungrab_pointer(event.time)
                if self.target is not None and self.accepted:
                    self._send(self.target, "XdndDrop", [0, event.time])
                    self.dropped_at = time.monotonic()
                else:
                    if self.target is not None:
                        self._send(self.target, "XdndLeave", [0])
                    print("dropped: refused", flush=True)
                    return 1
            elif event.type == X.ClientMessage:
                kind = event.client_type
                values = event.data[1]
                if kind == self.atoms["XdndStatus"] and values[0] == self.target:
                    self.accepted = bool(values[1] & 1)
                elif kind == self.atoms["XdndFinished"]:
                    print("dropped: accepted", flush=True)
                    return 0
            elif event.type == X.SelectionRequest:
                self._selection_request(event)
        print("dropped: timed out", flush=True)
        return 1


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    return DragSource([Path(p) for p in argv]).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
