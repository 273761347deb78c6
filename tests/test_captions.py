"""Issue 28, findings 6-9: every caption true of what it captions, every number's meaning said
where it shows. The views and handlers, without a browser (tests/test_captions_browser.py
drives the same in Chromium)."""
import base64
import io
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import SHARED
from cnn_demo import checkpoints, drawing, explain, strokes, unit
from cnn_demo.models import build
from cnn_demo.registry import Registry
from cnn_demo.ui import playground_tab, train_tab, unit_panel, why_tab
from cnn_demo.views import train as train_view
from cnn_demo.views.unit import normalised_note


def text(html: str) -> str:
    """What a reader sees of some HTML: the tags and pictures' data gone, spaces folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r'src="[^"]*"', "", html))).strip()


def pen(index: int) -> dict:
    """A real pen-drawn digit of the development set, as the canvas gives it."""
    digits = json.loads((SHARED / "pendigits-dev" / "strokes.json").read_text())
    img = strokes.render(strokes.place(digits[index]["strokes"], 0.6))
    return {"background": img, "layers": [], "composite": img}


# ---- 6: the playground's grid ---------------------------------------------------------------
PARAMS = ("same", "zeros", 1, 1, "none", 0.1, "none", 2, 2)
SEVEN_GRID = [["7", "0", "-1"], ["2", "0", "-2"], ["1", "0", "-1"]]


def test_an_edit_of_the_grid_puts_it_among_the_kernels():
    """Finding 6: typing into the grid did nothing unless "Custom (the grid)" — the last of 12
    choices — was picked. An edit now adds it (and only once)."""
    custom = playground_tab.CUSTOM
    assert playground_tab.with_custom(["Sobel x"]) == ["Sobel x", custom]
    assert playground_tab.with_custom([]) == [custom] and playground_tab.with_custom(None) == [custom]
    assert playground_tab.with_custom(["Sobel x", custom]) == {"__type__": "update"}  # left as it is
    assert playground_tab.with_custom("Sobel x") == [custom]  # not a list (a hostile request): the grid alone
    _, status, kernels, view, *_ = playground_tab.on_change("Tiny 6×6 squares", None, None,
                                                          ["Sobel x", custom], SEVEN_GRID, *PARAMS)
    assert status == "" and "Sobel x (3×3)" in text(kernels) and "custom (3×3)" in text(kernels)
    assert "“custom” is the grid you type in" in text(kernels)
    assert "7" in text(kernels).split("custom (3×3)")[1].split()[:3]  # the typed 7, first cell of the custom kernel
    assert "actual output 2×6×6" in text(view)  # two maps: Sobel x and the grid
    # without the grid, no word about it
    kernels = playground_tab.on_change("Tiny 6×6 squares", None, None, ["Sobel x"], SEVEN_GRID, *PARAMS)[2]
    assert "custom" not in text(kernels)


def test_a_grid_of_another_size_than_the_kernels_beside_it_says_what_to_do():
    grid = [["1"] * 5] * 5
    status = playground_tab.on_change("Tiny 6×6 squares", None, None, ["Sobel x", playground_tab.CUSTOM], grid,
                                      *PARAMS)[1]
    assert ("Your grid is 5×5 but the other kernels chosen are 3×3: kernels applied together must have one size. "
            "Take the others out of Kernels, or give the grid their size.") in status


# ---- 7: the nudge ---------------------------------------------------------------------------
def shown(html: str) -> list[np.ndarray]:
    """The pictures of a view, as the page gets them (PNG data), in [0, 1]."""
    out = []
    for data in re.findall(r'src="data:image/png;base64,([^"]+)"', html):
        out.append(np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("L"), np.float32) / 255)
    return out


def reads(model, img: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(np.ascontiguousarray(img))[None, None]), 1)[0].numpy()


def check_captions(html: str, model, value, target: int) -> tuple[int, int]:
    """Every caption of a nudge checked against the model's own reading of what it captions: the
    drawing as the network reads it (before), and the nudged picture exactly as the page shows it
    (after). Returns (what the drawing read before, what it reads after)."""
    from cnn_demo.views.explain import _pct
    _, after_img, _ = shown(html)
    seen = text(html)
    before, after = reads(model, drawing.prepared(value).image), reads(model, after_img)
    was, got = int(before.argmax()), int(after.argmax())
    assert f"before: the model reads {was} ({before[was]:.0%})" in seen, seen
    assert f"after: the model reads {got} ({after[got]:.0%})" in seen, seen
    assert f"“{target}” went from {_pct(before[target])} to {_pct(after[target])}" in seen, seen
    if got == target:
        assert f"Nudge towards “{target}”: reached" in seen and f"the model reads the drawing as “{target}”" in seen
    else:
        assert f"Nudge towards “{target}”: not reached" in seen
        assert f"the model still reads the drawing as “{got}”, not “{target}”" in seen
        assert "reached" not in seen.replace("not reached", "")
    return was, got


def test_a_nudge_that_does_not_reach_its_target_says_so(registry, monkeypatch):
    """Finding 7: the header read "now 12% '1'" while the caption said "after: reads 1" and the
    picture still read 7. A nudge cut short (one step) cannot turn a 7 into a 1."""
    seven = pen(24)  # a pen-drawn 7
    model = registry.get("lenet5").ck.model
    real = explain.nudge
    monkeypatch.setattr(explain, "nudge", lambda m, img, target: real(m, img, target, steps=1))
    html = why_tab.on_nudge(registry, seven, "lenet5", "1")
    assert check_captions(html, model, seven, 1) == (7, 7)
    assert "after 1 gradient step the model still reads the drawing as “7”, not “1”" in text(html)


def test_a_real_nudge_that_runs_out_of_steps(registry):
    """A pen-drawn 3 that 200 steps of the nudge do not turn into a 0 (it stays a 3 at ~70%)."""
    three = pen(10)
    html = why_tab.on_nudge(registry, three, "lenet5", "0")
    assert check_captions(html, registry.get("lenet5").ck.model, three, 0) == (3, 3)
    assert "after 200 gradient steps (the most a nudge takes)" in text(html)


def test_a_nudge_that_reaches_its_target(registry, seven):
    html = why_tab.on_nudge(registry, seven, "lenet5", "1")
    assert check_captions(html, registry.get("lenet5").ck.model, seven, 1) == (7, 1)


def test_a_nudge_towards_what_it_already_reads_or_no_digit_at_all(registry, seven):
    assert "The model already reads “7”" in text(why_tab.on_nudge(registry, seven, "lenet5", "7"))
    for bad in (None, "x", "10", 3.5):
        assert "Pick a digit from 0 to 9" in text(why_tab.on_nudge(registry, seven, "lenet5", bad))


# ---- 8a: what the input's numbers mean --------------------------------------------------------
def test_the_unit_detail_says_what_normalised_input_values_mean(registry, seven):
    """Finding 8: blank pixels showed as -0.42 and ink as 2.82 with no word on it."""
    # a window inside the image with blank paper and nearly full ink under it: the numbers the
    # sentence names are those the grid shows, and its range
    m, x = registry.get("lenet5").ck.model, drawing.prepared(seven).tensor()
    r, c = next((r, c) for r in range(2, 26) for c in range(2, 26)
                if (w := unit.explain(m, x, "C1", 0, (r, c)).window).min() < -0.42 and w.max() > 2.7)
    window = unit.explain(m, x, "C1", 0, (r, c)).window
    assert f"{window.min():.2f}" == "-0.42" and 2.7 < window.max() <= (1 - 0.1307) / 0.3081
    c1 = unit_panel.detail(registry, seven, "lenet5", "lenet5", "C1", 0, r, c)
    assert ("The input map's numbers are its pixels after MNIST's normalisation, (pixel − 0.1307) / 0.3081, as "
            "this network reads them: blank paper (0) is -0.42, full ink (1) is 2.82.") in text(c1)
    assert "-0.42" in text(c1).split("input map 0")[1] and f"{window.max():.2f}" in text(c1).split("input map 0")[1]
    assert "padding" not in text(c1)  # inside the image: no padding under the window
    corner = unit_panel.detail(registry, seven, "lenet5", "lenet5", "C1", 0, 0, 0)
    assert "those cells are the padding, 0 (on this scale, neither paper nor ink)" in text(corner)
    assert "The input map's numbers" not in text(unit_panel.detail(registry, seven, "lenet5", "lenet5", "C3", 0, 2, 2))
    assert "blank paper (0) is -0.42" in text(unit_panel.detail(registry, seven, "tinycnn", "tinycnn", "conv1", 0, 5, 5))


def test_a_checkpoint_on_raw_pixels_says_its_numbers_are_the_pixels(tmp_path, seven):
    model = build("lenet5")
    model.mean, model.std = 0.0, 1.0
    checkpoints.save(model, tmp_path / "raw-net", {"name": "raw-net"})
    reg = Registry(user_dir=tmp_path / "none").scan()
    reg.add(checkpoints.load(tmp_path / "raw-net", name="raw-net", inputs="raw"), "saved")
    seen = text(unit_panel.detail(reg, seven, "raw-net", "raw-net", "C1", 0, 0, 0))
    assert ("The input map's numbers are its pixels as they are, as this network reads them (its checkpoint "
            "takes raw pixels): blank paper is 0, full ink 1. The window reaches past the image's edge: those "
            "cells are the padding, 0.") in seen
    u = unit.explain(reg.get("raw-net").ck.model, drawing.prepared(seven).tensor(), "C1", 0, (13, 13))
    assert u.window.min() == 0 and 0.5 < u.window.max() <= 1  # the pixels themselves
    assert normalised_note(unit.Unit("C3", "conv", 0)) == ""


