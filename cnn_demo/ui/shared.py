"""What the tabs share: the registry of checkpoints, the Blocks (for page-load events), and
the Draw tab's canvas and model choice, which other tabs read. Each tab's `build(shared)`
lays out its components and wires them to module-level handlers of plain values."""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any

from ..registry import Registry


@dataclass
class Shared:
    registry: Registry
    demo: Any = None  # the gr.Blocks being built
    sketch: Any = None  # the Draw tab's canvas (set by the Draw tab, read by the others)
    model: Any = None  # the Draw tab's model choice
    tabs: Any = None  # the gr.Tabs holding every tab (a link selects one)
    parts: dict = field(default_factory=dict)  # components a view sets, by name: "draw" (the canvas and
    # its outputs), "unit" (the unit panel), "status" and "tab" (the header's), "lessons" (the strip)
    linked: dict = field(default_factory=dict)  # key → a setting a share link carries (ui/share.py)
    defaults: dict = field(default_factory=dict)  # key → that setting's value as the app opens
    openables: dict = field(default_factory=dict)  # key → (an accordion a view may open, open as the app opens)
    restored: dict = field(default_factory=dict)  # key → a setting only its tab's `restore` can set
    restores: list = field(default_factory=list)  # (tab id, restore, its keys, its outputs)

    def link(self, key: str, component):
        """Let share links carry this control's value (checked against the control's own
        choices or range when a link is opened)."""
        self.linked[key] = component
        self.defaults[key] = component.value if not isinstance(component.value, dict) else component.value.get("data")
        return component

    def openable(self, key: str, accordion):
        """Let a lesson (a view's "open": [keys]) open this accordion; every other view leaves
        it as the app opens it."""
        self.openables[key] = (accordion, bool(accordion.open))
        return accordion

    def restorable(self, tab: str, restore, controls: dict, outputs: list):
        """Let share links carry controls whose choices depend on the model (a layer, its
        channels): `restore(registry, settings, drawing, model choice)` sets them together with
        the views that show them, when a link opens on `tab` or names one of them."""
        self.restored.update(controls)
        self.restores.append((tab, restore, list(controls), list(outputs)))


def bound(fn, *first):
    """`fn` with its first arguments given (the registry, ...): to Gradio, a function of the
    components' values alone. It keeps `fn`'s name and docstring (the API page shows them),
    the signature and type hints of the other parameters (Gradio finds `gr.Request` and
    `gr.SelectData` by them) and, for a generator, its being one (Gradio streams those)."""
    if inspect.isgeneratorfunction(fn):
        def call(*args, **kwargs):
            yield from fn(*first, *args, **kwargs)
    else:
        def call(*args, **kwargs):
            return fn(*first, *args, **kwargs)
    functools.update_wrapper(call, fn)
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    call.__signature__ = sig.replace(parameters=params[len(first):])
    call.__annotations__ = {k: v for k, v in fn.__annotations__.items()
                            if k not in {p.name for p in params[:len(first)]}}
    return call


def latest_only(fn, outputs: int):
    """`fn` as the handler of a view that must show the newest request's answer: when a visitor's
    later request of the same view began while this one ran, this one's answer is dropped
    (gr.skip()), so an older answer never lands over a newer one. Gradio's `always_last` holds
    a trigger back while its event runs, but one that arrives before the event is registered
    (the page gathers the inputs and posts the request first) runs beside it: two quick changes
    of the playground's stride could end with the answer for the old stride on screen."""
    import itertools
    import threading
    from collections import OrderedDict

    import gradio as gr
    newest: OrderedDict = OrderedDict()  # session → the number of its newest request (bounded)
    counter, lock = itertools.count(), threading.Lock()

    def call(*args, request: gr.Request = None):
        key = getattr(request, "session_hash", None)
        with lock:
            mine = newest[key] = next(counter)
            newest.move_to_end(key)
            while len(newest) > 4096:
                newest.popitem(last=False)
        out = fn(*args)
        with lock:
            stale = key is not None and newest.get(key) != mine
        if not stale:
            return out
        return gr.skip() if outputs == 1 else (gr.skip(),) * outputs
    functools.update_wrapper(call, fn)
    sig = inspect.signature(fn)
    request = inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=gr.Request)
    call.__signature__ = sig.replace(parameters=[*sig.parameters.values(), request])
    call.__annotations__ = {**getattr(fn, "__annotations__", {}), "request": gr.Request}
    return call
