"""The Draw tab's look inside one unit, through its handlers (no server): the numbers on the
page are the model's own, for every kind of stage of both networks, side by side too."""
import re

import pytest
import torch

from cnn_demo import drawing, unit
from cnn_demo.registry import Registry
from cnn_demo.ui import unit_panel
from cnn_demo.views.common import fmt



def own(registry, value, name, stage, ch, pos):
    model = registry.get(name).ck.model
    acts = unit.activations(model, drawing.prepared(value).tensor())
    out = acts[stage][0]
    return float(out[ch] if out.ndim == 1 else out[ch][pos])


@pytest.mark.parametrize("name,stage,ch,pos", [
    ("lenet5", "C1", 3, (14, 9)), ("lenet5", "S2", 5, (7, 7)), ("lenet5", "C3", 15, (4, 6)),
    ("lenet5", "C5", 17, (0, 0)), ("lenet5", "F6", 40, (0, 0)), ("lenet5", "OUTPUT", 7, (0, 0)),
    ("tinycnn", "conv1", 2, (10, 20)), ("tinycnn", "pool2", 31, (6, 0)), ("tinycnn", "fc", 7, (0, 0)),
])
def test_the_page_shows_the_models_own_value(registry, seven, name, stage, ch, pos):
    page = unit_panel.detail(registry, seven, name, name, stage, ch, *pos)
    value = own(registry, seven, name, stage, ch, pos)
    assert f"holds <b>{fmt(value)}</b>" in page or f"own value: <b>{fmt(value)}</b>" in page, page[:400]
    assert "⚠️" not in page and 'class="cx-unit"' in page
    if stage in ("C1", "C3", "conv1"):
        assert "Then ReLU: max(0," in page and "receptive field" in page and "on your canvas" in page
        assert page.count('class="cx-grid"') >= 3  # window, kernel, products
    if stage in ("OUTPUT", "fc"):
        assert f"{stage}, digit {ch} —" in page
        with torch.no_grad():
            probs = torch.softmax(registry.get(name).ck.model(drawing.prepared(seven).tensor())[0], 0)
        assert f"reads <b>{int(probs.argmax())}</b> ({float(probs.max()):.1%})" in page


def test_a_click_on_a_relu_map_shows_its_conv_and_the_relu(registry, seven):
    acc, which, stage, ch, row, col, page, spatial = unit_panel.on_pick(registry, seven, "lenet5",
                                                                         "0|C3_relu|4|2|3|123")
    assert acc["open"] is True and stage["value"] == "C3" and ch["value"] == 4 and (row["value"], col["value"]) == (2, 3)
    assert ch["maximum"] == 15 and row["maximum"] == 9 and spatial["visible"] is True
    assert "C3, map 4 at row 2, column 3" in page and "Then ReLU" in page
    assert 'data-stage="C3" data-ch="4"' in page  # what the flow outlines


def test_a_stage_of_single_numbers_has_no_position_to_choose(registry, seven):
    """OUTPUT, C5, F6: one number a unit, so no Row/Column sliders and no window to slide."""
    *_, ch, row, col, page, spatial = unit_panel.on_pick(registry, seven, "lenet5", "0|OUTPUT|7||")
    assert spatial["visible"] is False and row["interactive"] is False and ch["label"] == "Unit (0–9)"
    assert "OUTPUT, digit 7" in page
    ch, row, col, page, spatial = unit_panel.on_stage(registry, seven, "lenet5", "lenet5", "S4", 0, 0, 0)
    assert spatial["visible"] is True and ch["label"] == "Map (0–15)"


def test_side_by_side_picks_the_second_model(registry, seven):
    acc, which, stage, ch, row, col, page, _ = unit_panel.on_pick(registry, seven, drawing.COMPARE, "1|conv2|31|0|0|1")
    assert which["value"] == "tinycnn" and which["visible"] is True and "TinyCNN" in page
    assert stage["value"] == "conv2" and "conv2, map 31" in page


def test_positions_outside_the_map_are_kept_inside(registry, seven):
    ch, row, col, page, _ = unit_panel.on_stage(registry, seven, "lenet5", "lenet5", "S4", 99, 40, -3)
    assert (ch["value"], row["value"], col["value"]) == (15, 4, 0) and "S4, map 15 at row 4, column 0" in page


@pytest.mark.parametrize("value,pick", [(None, "0|C1|0|0|0|1"), ("seven", "garbage"), ("seven", "0|C1|x|0|0")])
def test_nothing_drawn_or_a_broken_pick_gets_a_sentence_not_a_crash(registry, seven, value, pick):
    v = seven if value == "seven" else value
    out = unit_panel.on_pick(registry, v, "lenet5", pick)
    if value is None:  # a blank canvas: the Draw tab shows the example 7's maps, and those are what a click opens
        assert "On the example 7 the page opened with" in out[-2] and "C1, map 0 at row 0, column 0" in out[-2]
    else:
        assert all(o == {"__type__": "update"} for o in out)  # nothing changes, nothing breaks


def test_the_slide_visits_the_whole_map_in_order(registry, seven):
    frames = list(unit_panel.slide(registry, seven, "lenet5", "lenet5", "S2", 0))
    rows = sorted({r for r, _, _ in frames})
    assert len(frames) == 49 and rows == [0, 2, 4, 6, 8, 10, 12]  # 14×14, every other position
    r, c, page = frames[-1]
    assert (r, c) == (12, 12) and f"row {r}, column {c}" in page


def test_stage_pictures_say_how_a_click_maps_to_a_unit(registry, seven):
    from cnn_demo.ui.draw_tab import on_draw
    *_, stages = on_draw(registry, seven, drawing.COMPARE)
    tags = re.findall(r"<div [^>]*data-stage=[^>]*>", stages)
    got = {(re.search(r'data-model="(\d)"', t)[1], re.search(r'data-stage="(\w+)"', t)[1]) for t in tags}
    assert ("0", "C3_relu") in got and ("1", "conv2") in got and ("0", "OUTPUT") in got
    c1 = next(t for t in tags if 'data-stage="C1"' in t)
    assert all(f in c1 for f in ('data-th="28"', 'data-tw="28"', 'data-n="6"', 'tabindex="0"', 'role="button"'))
    # one tile a map, each naming its map; a tile shows its own map of the stage's mosaic: it is
    # shifted by its place in the mosaic's grid, in steps of a map and its one-pixel gap
    block = stages[stages.index(c1):]
    tiles = re.findall(r'<div class="cx-tile" data-ch="(\d+)" style="--x:(\d+);--y:(\d+)"', block[:block.index("</div></div>")])
    cols = int(re.search(r"--cols:(\d+)", c1)[1])
    side = float(re.search(r"--side:([\d.]+)px", c1)[1])
    step = (float(re.search(r"--step-x:([\d.]+)px", c1)[1]), float(re.search(r"--step-y:([\d.]+)px", c1)[1]))
    assert [int(k) for k, _, _ in tiles] == list(range(6))
    assert all((int(x), int(y)) == (int(k) % cols, int(k) // cols) for k, x, y in tiles)
    assert abs(step[0] - 29 * side / 28) < 1e-3 and abs(step[1] - 29 * side / 28) < 1e-3


def test_any_checkpoint_a_learner_saved_works_too(tmp_path, seven):
    """Not only the bundled two: a checkpoint saved under its own name (trained in the app,
    loaded from the Hub) is looked inside the same way."""
    from cnn_demo import checkpoints
    from cnn_demo.models import build
    torch.manual_seed(3)
    checkpoints.save(build("tinycnn"), tmp_path / "my-tiny", {"name": "my-tiny"})
    reg = Registry(user_dir=tmp_path).scan()
    page = unit_panel.detail(reg, seven, "my-tiny", "my-tiny", "conv2", 9, 3, 4)
    assert "conv2, map 9 at row 3, column 4 — my-tiny" in page
    assert f"holds <b>{fmt(own(reg, seven, 'my-tiny', 'conv2', 9, (3, 4)))}</b>" in page
