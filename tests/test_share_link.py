"""Links that hold a view: short, faithful to the drawing, and refused with a sentence when
broken or tampered with."""
import base64
import json
import zlib

import numpy as np
import pytest
import torch

from conftest import ROOT
from cnn_demo import checkpoints, share_link, strokes
from cnn_demo.preprocess import preprocess
from cnn_demo.share_link import LinkError, decode, encode, pack_drawing, unpack_drawing

PEN = ROOT.parent / "shared" / "data" / "pendigits-dev" / "strokes.json"


@pytest.fixture(scope="module")
def drawings():
    digits = json.loads(PEN.read_text())[::5]  # 200 real pen-drawn digits, every writer
    rng = np.random.default_rng(1)
    return [strokes.render(strokes.random_placement(d["strokes"], rng)) for d in digits]


def test_a_drawing_survives_the_link_and_reads_the_same(drawings):
    model = checkpoints.load(ROOT / "checkpoints" / "lenet5").model
    sizes, same, moved = [], 0, []
    with torch.inference_mode():
        for img in drawings:
            token = pack_drawing(img)
            sizes.append(len(token))
            back = unpack_drawing(token)
            assert back.shape == img.shape and back.dtype == np.uint8 and set(np.unique(back)) <= {0, 255}
            # every ink pixel of the drawing is ink in the link's block
            assert (back[img < share_link.INK] == 0).all()
            p = torch.softmax(model(preprocess(img, paper="light").tensor()), 1)[0]
            q = torch.softmax(model(preprocess(back, paper="light").tensor()), 1)[0]
            same += int(p.argmax() == q.argmax())
            moved.append(float((p - q).abs().max()))
    assert same >= 0.99 * len(drawings), same
    assert np.median(moved) < 0.01, np.median(moved)
    assert max(sizes) < 700, max(sizes)  # a few hundred characters


def test_a_view_round_trips_and_stays_short(drawings):
    state = {"tab": "draw", "model": "lenet5+tinycnn", "ink": pack_drawing(drawings[0]),
             "unit": {"stage": "C3", "ch": 5, "r": 2, "c": 3}, "why": {"cls": 7, "layer": "C3"}}
    token = encode(state)
    assert token.startswith("1.") and decode(token) == state and len(token) < 900
    assert all(c.isalnum() or c in "-_." for c in token)  # safe in a URL as it is


def _token(payload: bytes) -> str:
    return "1." + base64.urlsafe_b64encode(zlib.compress(payload)).decode().rstrip("=")


@pytest.mark.parametrize("token,said", [
    ("", "holds no view"), (None, "holds no view"), (17, "holds no view"),
    ("x" * 5000, "at most 4,096"), ("2.abc", "another version"), ("1.", "another version"),
    ("nodot", "another version"), ("1.!!!not-base64!!!", "damaged"), ("1.AAAA", "damaged"),
    (_token(b"[1, 2, 3]"), "damaged"), (_token(b"{not json"), "damaged"), (_token(b"\xff\xfe"), "damaged"),
    (_token(b" " * 2_000_000), "more than 65,536 bytes"),  # a zlib bomb: 2 MB from a 2.6 KB link
])
def test_broken_or_tampered_links_get_a_sentence(token, said):
    with pytest.raises(LinkError, match=said):
        decode(token)


@pytest.mark.parametrize("token,said", [
    ("!!!", "cannot be read"), (base64.urlsafe_b64encode(zlib.compress(b"\x00" * 10)).decode(), "wrong size"),
    (base64.urlsafe_b64encode(zlib.compress(b"\x00" * 100_000)).decode(), "more than"),
])
def test_a_tampered_drawing_gets_a_sentence(token, said):
    with pytest.raises(LinkError, match=said):
        unpack_drawing(token)


def test_fields_are_read_with_their_type_and_range():
    s = {"tab": "why", "bad": "x" * 300, "n": 5, "flag": True, "neg": -1}
    assert share_link.text(s, "tab", {"draw", "why"}) == "why"
    assert share_link.text(s, "tab", {"draw"}) is None and share_link.text(s, "bad") is None
    assert share_link.whole(s, "n", 0, 9) == 5 and share_link.whole(s, "n", 0, 4) is None
    assert share_link.whole(s, "flag", 0, 9) is None and share_link.whole(s, "neg", 0, 9) is None


def test_a_links_setting_is_used_only_if_the_control_would_take_it():
    import gradio as gr

    from cnn_demo.ui.share import accepted, settings_of
    with gr.Blocks():
        dd = gr.Dropdown(["a", "b"], value="a")
        multi = gr.Dropdown(["x", "y", "z"], value=["x"], multiselect=True)
        custom = gr.Dropdown(["same", "1"], value="same", allow_custom_value=True)
        num = gr.Number(1, precision=0, minimum=1, maximum=64)
        sl = gr.Slider(0, 1, 0.1)
        grid = gr.Dataframe(value=[["1", "0"], ["0", "1"]])
    assert accepted(dd, "b") == "b" and accepted(dd, "c") is None and accepted(dd, 3) is None
    assert accepted(multi, ["y", "z"]) == ["y", "z"] and accepted(multi, ["q"]) is None and accepted(multi, []) is None
    assert accepted(custom, "7") == "7" and accepted(custom, "x" * 40) is None
    assert accepted(num, 2) == 2 and accepted(num, 65) is None and accepted(num, True) is None
    assert accepted(num, float("nan")) is None and accepted(sl, 0.5) == 0.5 and accepted(sl, 2) is None
    assert accepted(grid, [["1", 2.5]]) == [["1", "2.5"]]
    assert accepted(grid, [["1"] * 12]) is None and accepted(grid, [["<script>" * 3]]) is None
    assert accepted(grid, "not a grid") is None
    # only what differs from how the app opens goes into a link
    assert settings_of(["a", "b"], ["same", 1], ["same", 2]) == {"b": 2}


def restored_views(app_demo, state) -> dict:
    """apply_state's updates for each tab's restored controls and views, by tab."""
    from cnn_demo.ui.share import apply_state
    out = apply_state(app_demo.shared, state, "opened")
    assert "opened" in out[app_demo.shared.parts["status"]]
    return {tab: [out.get(c, {"__type__": "update"}) for c in outputs] for tab, _, _, outputs in app_demo.restores}


def test_a_view_sets_the_model_dependent_choices_through_their_tabs(app_demo, seven):
    """Insights' layer/channel and the Why tab's layer and knock-outs come back with the views
    that show them, checked against the linked checkpoint; tampered ones fall back, no crash."""
    state = {"tab": "insights", "model": "lenet5", "ink": pack_drawing(seven["composite"]),
             "set": {"ins.model": "tinycnn", "ins.layer": "conv1", "ins.channel": 3, "why.layer": "C1",
                     "why.ko.layer": "C1", "why.ko": [2]}}
    got = restored_views(app_demo, state)
    model, status, layer, channel, top = got["insights"][:5]
    assert model["value"] == "tinycnn" and status.startswith("tinycnn:") and layer["value"] == "conv1"
    assert channel["value"] == 3 and "conv1, channel 3" in top
    why = got["why"]
    assert "Grad-CAM on C1" in why[1] and why[4]["value"] == [2] and why[6].startswith("With 1 of C1's filters")
    # tampered: a layer that is a list, a channel past the end, filters that are not numbers
    state["set"] = {"ins.layer": ["C1"], "ins.channel": 10 ** 9, "why.ko": [{"a": 1}, -1, 99]}
    got = restored_views(app_demo, state)
    model, _, layer, channel = got["insights"][:4]
    assert model["value"] == "lenet5" and layer["value"] == "C3" and channel["value"] == 0
    assert got["why"][4]["value"] == [] and got["why"][6] == ""
    # a link on the Draw tab that names neither tab computes neither
    state = {"tab": "draw", "ink": pack_drawing(seven["composite"])}
    assert all(u == {"__type__": "update"} for views in restored_views(app_demo, state).values() for u in views)
