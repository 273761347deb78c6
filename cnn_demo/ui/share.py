"""A link that opens exactly what you see: the "Link to this view" button (on every tab) packs
the tab, the model choice, the drawing and the open unit detail into one query parameter
(cnn_demo/share_link.py); opening the app with it puts them back, the prediction included.
A broken or tampered link leaves the app as a visitor first sees it and says why. A lesson's
"Set up" button (ui/lessons_tab.py) applies its view the same way (`apply_state`).

Each tab names the controls a link carries (`shared.link(key, component)`: the playground's
image and settings, the Why tab's class); a value from a link is used only if the control
itself would accept it (one of its choices, inside its range). Controls whose choices follow
the model (Insights' checkpoint, layer, channel and stage; the Why tab's Grad-CAM layer and
knocked-out filters) are set by their tab's own `restore`, together with the views that show
them, so no later event resets them (`shared.restorable`). What a link holds is in the
README, "Share links".
"""
from __future__ import annotations

import functools

import gradio as gr

from .. import drawing, share_link
from ..registry import Registry
from . import say
from .draw_tab import on_canvas
from .shared import Shared, bound
from .unit_panel import controls_for, detail

TABS = {"Draw": "draw", "Why this digit?": "why", "What neurons look for": "insights",
        "Convolution playground": "playground", "Train & Hub": "train", "Lessons": "lessons"}
# the page's selected tab and whether the unit detail is open are read in the browser
READ_PAGE = """(tab, open, ...rest) => [
  (document.querySelector('[role=tab][aria-selected=true]')?.innerText || '').trim(),
  !!document.querySelector('#unit-detail .cx-unit'), ...rest]"""
# the parameter becomes a whole link on this page's own address, copied where the browser allows
TO_URL = """(token) => {
  if (!token || !token.startsWith('1.')) return token;
  const url = location.origin + location.pathname + '?s=' + token;
  navigator.clipboard?.writeText(url).catch(() => {});
  return url;
}"""


def plain(v):
    """A control's value as JSON: a table (the kernel grid) as rows of cells."""
    if hasattr(v, "values") and hasattr(v, "columns"):  # a pandas DataFrame
        return [[str(c) for c in row] for row in v.values.tolist()]
    if isinstance(v, dict) and "data" in v:
        return [[str(c) for c in row] for row in v["data"]]
    return v


def accepted(comp, v):
    """`v` if the control would take it as its value (its choices, its range, a small grid), else None."""
    if isinstance(comp, (gr.Dropdown, gr.Radio)):
        values = [c[1] if isinstance(c, (tuple, list)) else c for c in (comp.choices or [])]
        if getattr(comp, "multiselect", False):
            ok = isinstance(v, list) and 0 < len(v) <= len(values) and all(isinstance(x, str) and x in values for x in v)
        elif getattr(comp, "allow_custom_value", False):
            ok = isinstance(v, str) and 0 < len(v) <= 12
        else:
            ok = isinstance(v, str) and v in values
        return v if ok else None
    if isinstance(comp, (gr.Number, gr.Slider)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (float("inf"), float("-inf")):
            return None
        lo, hi = getattr(comp, "minimum", None), getattr(comp, "maximum", None)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return None
        return int(v) if isinstance(comp, gr.Number) and getattr(comp, "precision", None) == 0 and v == int(v) else v
    if isinstance(comp, gr.Dataframe):
        ok = isinstance(v, list) and 0 < len(v) <= 11 and all(
            isinstance(r, list) and 0 < len(r) <= 11 and all(isinstance(c, (str, int, float)) and not isinstance(c, bool)
                                                            and len(str(c)) <= 16 for c in r) for r in v)
        return [[str(c) for c in r] for r in v] if ok else None
    return None


def settings_of(keys: list[str], defaults: list, values) -> dict:
    """The linked controls whose values differ from how the app opens (links stay short)."""
    out = {}
    for key, default, v in zip(keys, defaults, values):
        v = plain(v)
        if v is not None and v != plain(default):
            out[key] = v
    return out


def make_link(registry: Registry, tab, unit_open, value, choice, stage, channel, row, col, *linked,
              keys=(), defaults=()):
    """The parameter for the current view (the page turns it into the link), or a sentence; the
    box that shows it appears with it."""
    state = {"tab": TABS.get(tab, "draw") if isinstance(tab, str) else "draw",
             "model": choice if isinstance(choice, str) else drawing.DEFAULT}
    settings = settings_of(list(keys), list(defaults), linked)
    if settings:
        state["set"] = settings
    img = drawing.drawn(value)
    try:
        if img is not None:
            state["ink"] = share_link.pack_drawing(img)
        if unit_open and img is not None:
            state["unit"] = {"stage": str(stage or "")[:40], "ch": _int(channel), "r": _int(row), "c": _int(col)}
        token = share_link.encode(state)
    except share_link.LinkError as e:
        token = f"⚠️ {e}"
    return gr.update(value=token, visible=True)


def _int(v) -> int:
    try:
        return int(v)
    except (TypeError, ValueError, OverflowError):
        return 0


def open_link(shared: Shared, request: gr.Request) -> dict:
    """On page load: the view a `?s=` link holds; without one, nothing changes (the page opens
    with the Draw tab's example flowing through the network); a broken link: that, and a
    sentence."""
    token = request.query_params.get(share_link.PARAM) if request is not None else None
    if token is None:
        return {shared.parts["status"]: gr.skip()}  # (an empty dict would read as one value, not as none)
    try:
        state = share_link.decode(token)
    except share_link.LinkError as e:
        return {shared.parts["status"]: say(e)}
    return apply_state(shared, state, "Opened from a link: the view as it was shared.")


def apply_state(shared: Shared, state: dict, said: str) -> dict:
    """A view (from a link or a lesson) as updates, by component: the tab to open (selected once
    everything else is in place, `to_tab`), the model, the Draw tab's canvas and outputs, the
    unit panel, every linked control (its value in the view, else the app's own default: a
    lesson starts from how the app opens), each tab's restored controls and views
    (`Shared.restorable`), the accordions a view opens, the status line. Every field is
    checked; what cannot be used is left as the app opens it and named."""
    registry, parts = shared.registry, shared.parts
    notes, out = [], {}
    choice = share_link.text(state, "model")
    known = set(registry.names()) | {drawing.COMPARE}
    if choice not in known:
        if choice is not None:
            notes.append(f"The model {choice[:60]!r} is not loaded here; showing {drawing.DEFAULT}.")
        choice = drawing.DEFAULT
    tab = share_link.text(state, "tab", set(TABS.values()) | {"lessons"}) or "draw"
    try:
        img = share_link.unpack_drawing(state["ink"]) if isinstance(state.get("ink"), str) else None
    except share_link.LinkError as e:
        return {parts["status"]: say(e)}
    example = share_link.whole(state, "example", 0, 9)  # a lesson's digit: the bundled example
    if img is None and example is not None:
        img = drawing.example(example)
    if img is not None:
        out.update(zip(parts["draw"], on_canvas(registry, img, choice)))
    out.update(unit_view(shared, state.get("unit"), img, choice))
    given = state.get("set") if isinstance(state.get("set"), dict) else {}
    dropped = []
    for key, comp in shared.linked.items():
        v = accepted(comp, given[key]) if key in given else None
        if key in given and v is None:
            dropped.append(key)
        out[comp] = gr.update(value=v if v is not None else shared.defaults[key])
    for tab_id, restore, keys, outputs in shared.restores:  # only where the view is shown or named
        if tab == tab_id or any(k in given for k in keys):
            out.update(zip(outputs, restore(given, img, choice)))
    opened = state.get("open") if isinstance(state.get("open"), list) else []
    for key, (accordion, default) in shared.openables.items():
        out[accordion] = gr.update(open=key in opened or default)
    if dropped:
        notes.append(f"The settings {', '.join(k[:20] for k in dropped[:5])} could not be used (out of range or "
                     f"not a choice here) and were left as the app opens them.")
    out[shared.model] = gr.update(value=choice)
    out[parts["tab"]] = tab
    out[parts["status"]] = say(" ".join(notes)) if notes else (say(said, "🔗") if said else "")
    return out


def unit_view(shared: Shared, u, img, choice) -> dict:
    """The unit panel as a view names it (open on one unit of the drawing), else closed."""
    panel, _, stage, channel, row, col, out, spatial = shared.parts["unit"]
    if img is None or not isinstance(u, dict):
        return {panel: gr.update(open=False)}
    names = drawing.model_names(choice)
    st, ch, r, c = controls_for(shared.registry, choice, names[0], share_link.text(u, "stage", limit=40),
                                share_link.whole(u, "ch", 0, 999) or 0, share_link.whole(u, "r", 0, 999),
                                share_link.whole(u, "c", 0, 999))
    html = detail(shared.registry, img, choice, names[0], st.get("value"), ch.get("value"), r.get("value"),
                  c.get("value"))
    return {panel: gr.update(open=True), stage: st, channel: ch, row: r, col: c, out: html,
            spatial: gr.update(visible=r.get("interactive", True))}


def to_tab(tab):
    """The tab a view opens on, selected only after its controls hold the view's values: selecting
    a tab runs its own event (Insights' and Why's show everything), which reads those controls."""
    return gr.Tabs(selected=tab) if tab else gr.update()


def button():
    """The small "Link to this view" button, in the page's header."""
    return gr.Button("🔗 Link to this view", size="sm", scale=0, min_width=170, elem_id="share-link")


def layout(shared: Shared, btn):
    """The link's box (shown once a link is made) and the status line under the header, for
    every tab; and what the page itself knows (filled in by READ_PAGE when the button is pressed)."""
    url = gr.Textbox(label="Link to this view (copied where the browser allows)", interactive=False,
                     buttons=["copy"], visible=False, elem_id="share-url")
    shared.parts["status"] = gr.Markdown("", elem_id="share-status")
    shared.parts["tab"] = gr.State(None)
    page = [gr.Textbox(visible="hidden", label="selected tab"), gr.Checkbox(visible="hidden", label="detail open")]
    return btn, url, page


def view_outputs(shared: Shared) -> list:
    """Every component a view (a link, a lesson) may set: what `apply_state` returns keys of."""
    p = shared.parts
    return list(dict.fromkeys([p["tab"], shared.model, *p["draw"], *p["unit"], *shared.linked.values(),
                               *[c for *_, outputs in shared.restores for c in outputs],
                               *[a for a, _ in shared.openables.values()], p["status"]]))


def wire(shared: Shared, parts):
    btn, url, page = parts
    registry = shared.registry
    unit = shared.parts["unit"]
    carried = shared.linked | shared.restored
    keys, comps = list(carried), list(carried.values())
    make = functools.partial(make_link, keys=keys, defaults=[c.value for c in comps])
    functools.update_wrapper(make, make_link)
    btn.click(bound(make, registry), page + [shared.sketch, shared.model] + unit[2:6] + comps, url,
              js=READ_PAGE, show_progress="hidden", api_visibility="private") \
        .then(None, url, url, js=TO_URL, show_progress="hidden", api_visibility="private")
    quiet = dict(show_progress="hidden", api_visibility="private")
    shared.demo.load(bound(open_link, shared), None, view_outputs(shared), **quiet) \
        .then(to_tab, shared.parts["tab"], shared.tabs, **quiet)
