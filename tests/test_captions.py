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


