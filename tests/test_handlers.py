"""The UI's handlers are plain functions of values (the registry first): each tab's behaviour
is checked here without a server or a browser — the sentence for an empty canvas, the
reading of a digit, side by side, unknown names refused with the known ones."""
import inspect

import gradio as gr
import numpy as np
import pytest

from conftest import ROOT
from cnn_demo import drawing
from cnn_demo.models import UnknownStage, build
from cnn_demo.train import TrainConfig
from cnn_demo.ui import draw_tab, insights_tab, playground_tab, train_tab, why_tab
from cnn_demo.ui.shared import bound

SEVEN = ROOT / "examples" / "digits" / "mnist-test-0000-label7.png"
BLANK = np.full((400, 400), 255, np.uint8)




def top(label: dict) -> str:
    return max(label, key=label.get)


# ---- the drawing and the model choice ------------------------------------------------------
def test_one_blank_check_and_one_reading_of_the_model_choice(seven):
    assert drawing.is_blank(BLANK) and drawing.is_blank(None) and drawing.drawn({"composite": BLANK}) is None
    assert not drawing.is_blank(seven["composite"])
    assert drawing.model_names(drawing.COMPARE) == ["lenet5", "tinycnn"]
    assert drawing.model_names("hub:a/b@12345678") == ["hub:a/b@12345678"]  # a "+" only means side by side there
    assert drawing.model_names(None) == ["lenet5"] and drawing.first_model(drawing.COMPARE) == "lenet5"
    with pytest.raises(drawing.InputError, match="Draw a digit on the Draw tab first"):
        drawing.prepared({"composite": BLANK})
    assert drawing.prepared(seven).image.shape == (28, 28)


# ---- Draw --------------------------------------------------------------------------------
def test_draw_handlers_read_the_digit_alone_and_side_by_side(registry, seven):
    p1, p2, status, steps, stages = draw_tab.on_draw(registry, {"composite": BLANK}, "lenet5")
    assert p1 is None and status.startswith("✏️") and stages == ""
    p1, p2, status, steps, stages = draw_tab.on_draw(registry, seven, "lenet5")
    assert top(p1) == "7" and p2 is None and status == "" and "C1" in stages and "centred (28×28)" in steps
    p1, p2, _, _, stages = draw_tab.on_draw(registry, seven, drawing.COMPARE)
    assert top(p1) == top(p2) == "7" and "lenet5: reads 7" in stages and "tinycnn: reads 7" in stages
    _, _, status, _, _ = draw_tab.on_draw(registry, seven, "nope")
    assert "No checkpoint named 'nope'" in status


def test_draw_filters_and_table_are_made_once_per_checkpoint(registry):
    filters, table = draw_tab.on_model(registry, "lenet5")
    assert "C1 filters" in filters and "multiply-adds" in table
    assert draw_tab.on_model(registry, "lenet5")[0] is filters  # kept on the registry's entry
    both, _ = draw_tab.on_model(registry, drawing.COMPARE)
    assert "cx-compare" in both and "conv1 filters" in both
    assert "No checkpoint named" in draw_tab.on_model(registry, "nope")[0]


def test_buttons_put_a_digit_on_the_canvas_and_read_it(registry):
    out = draw_tab.example_digit(registry, 0, "lenet5")
    assert out[0].ndim == 2 and not drawing.is_blank(out[0])  # the canvas shows the digit it reads
    assert top(out[1]) == "7"
    with pytest.raises(gr.Error, match="no such example digit"):
        draw_tab.example_digit(registry, 99, "lenet5")
    with pytest.raises(gr.Error, match="Choose an image file first"):
        draw_tab.upload_to_canvas(registry, None, "lenet5")
    assert top(draw_tab.upload_to_canvas(registry, str(SEVEN), "tinycnn")[1]) == "7"


def test_classify_answers_or_refuses_with_a_sentence(registry):
    assert top(draw_tab.classify(registry, str(SEVEN), "tinycnn")) == "7"
    with pytest.raises(gr.Error, match="No checkpoint named 'nope'"):
        draw_tab.classify(registry, str(SEVEN), "nope")
    with pytest.raises(gr.Error, match="must be a checkpoint's name"):
        draw_tab.classify(registry, str(SEVEN), 3)


# ---- Why ---------------------------------------------------------------------------------
def test_why_handlers(registry, seven):
    status = why_tab.explain_all(registry, {"composite": BLANK}, "lenet5", why_tab.PREDICTION, None, "rotate (degrees)")[0]
    assert "Draw a digit on the Draw tab first" in status
    out = why_tab.explain_all(registry, seven, drawing.COMPARE, "3", None, "rotate (degrees)")
    assert "The model reads **7**" in out[0] and "why **3** and not 7" in out[0]
    assert "Grad-CAM on C3" in out[1] and len(out[4]["choices"]) == 6  # C1's six filters to knock out
    msg, label = why_tab.knock_out(registry, seven, "lenet5", "C1", [0, 1])
    assert msg.startswith("With 2 of C1's filters zeroed (0, 1)") and set(label) == set("0123456789")
    assert why_tab.knock_out(registry, seven, "lenet5", None, [])[0] == "Pick a layer."
    out = why_tab.explain_all(registry, seven, "lenet5", "3", "C1", "rotate (degrees)", "C3", [2, 15, 16, "x", True])
    assert out[2]["value"] == "C1" and out[3]["value"] == "C3" and out[4]["value"] == [2, 15]  # kept where they exist
    assert out[6].startswith("With 2 of C3's filters zeroed (2, 15)") and set(out[7]) == set("0123456789")
    # a learner's pick: the pickers keep what they hold (an answer landing after a newer pick would
    # put the old one back), and get a value only where the model lacks theirs
    out = why_tab.on_explain(registry, seven, "lenet5", "3", "C1", "rotate (degrees)", "C3", [2, 15])
    assert "Grad-CAM on C1" in out[1] and out[6].startswith("With 2 of C3's filters zeroed (2, 15)")
    assert [("value" in u, u["choices"][:2]) for u in out[2:5]] == [(False, ["C1", "C3"]), (False, ["C1", "C3"]),
                                                                     (False, [0, 1])]
    out = why_tab.on_explain(registry, seven, "lenet5", "3", "fc9", "rotate (degrees)", None, [2, 99])
    assert (out[2]["value"], out[3]["value"], out[4]["value"]) == ("C3", "C1", [2])
    out = why_tab.restore(registry, {"why.cls": "3", "why.layer": "C1", "why.ko.layer": "C1", "why.ko": [5]},
                          seven, "lenet5")
    assert "why **3** and not 7" in out[0] and "Grad-CAM on C1" in out[1] and out[6].startswith("With 1 of C1's")
    out = why_tab.restore(registry, {"why.cls": "x", "why.layer": "fc9", "why.ko": "all"}, seven, "lenet5")
    assert "why **" not in out[0] and out[2]["value"] == "C3" and out[4]["value"] == [] and out[6] == ""
    assert "Draw a digit" in why_tab.on_nudge(registry, None, "lenet5", "1")


# ---- Insights ----------------------------------------------------------------------------

def test_a_knock_out_answers_at_once_and_its_accuracy_follows(registry, seven, mnist_dir, monkeypatch):
    """A click on a filter shows the knocked-out answer without waiting for 10,000 digits; the
    sentence with the test accuracy follows (a second event, in its own line)."""
    import re
    monkeypatch.setenv("CNN_DEMO_DATA", str(mnist_dir))
    msg, label = why_tab.knock_out_at_once(registry, seven, "lenet5", "C1", [0, 1])
    assert msg == ("With 2 of C1's filters zeroed (0, 1): measuring the MNIST test accuracy of what is left "
                   "(10,000 digits)…") and set(label) == set("0123456789")
    full = why_tab.knock_out_accuracy(registry, seven, "lenet5", "C1", [0, 1])
    assert re.fullmatch(r"With 2 of C1's filters zeroed \(0, 1\): MNIST test accuracy \d+\.\d\d% "
                        r"\(intact: 99\.\d\d%\)\.", full), full

def test_insights_handlers(registry, seven):
    out = insights_tab.on_model(registry, "lenet5", seven)
    assert "lenet5: 99." in out[0] and "of the test digits right" in out[0]
    assert "you" in out[6] and "closest" in out[6]  # the drawing compared with the class signatures
    upd, top, vis = insights_tab.on_layer(registry, "lenet5", "C1", 9)
    assert upd["maximum"] == 5 and upd["value"] == 5 and "C1" in top and vis == ""  # channel 9 → C1's last
    upd, top, _ = insights_tab.on_layer(registry, "lenet5", "C1", 3)
    assert upd == {"__type__": "update", "maximum": 5} and "channel 3" in top  # a slider in reach is left alone
    _, _, msg = insights_tab.on_layer(registry, "lenet5", "conv9", 0)
    assert "No stage &#x27;conv9&#x27; in lenet5; its stages: C1, C1_relu" in msg  # the known names, escaped
    assert "No checkpoint named" in insights_tab.on_model(registry, "nope", None)[0]


def test_top_examples_say_when_they_all_tie(registry):
    """A channel strongest on blank paper has nine equal "top" digits: the page says so."""
    m, ins = insights_tab.get(registry, "tinycnn")
    _, act, _ = ins.top("conv1")
    said = ["All nine tie" in insights_tab.on_layer(registry, "tinycnn", "conv1", c)[1] for c in range(act.shape[0])]
    assert said == [bool(a.max() - a.min() <= 1e-3 * abs(a.max())) for a in act] and 0 < sum(said) < len(said)


def test_insights_keeps_the_learners_layer_channel_and_stage_where_the_checkpoint_has_them(registry, seven):
    """Coming back to the tab (or a link naming them) must not reset the picks to C3, channel 0."""
    out = insights_tab.on_model(registry, "lenet5", seven, "C1", 4, "F6")
    assert (out[1]["value"], out[2]["value"], out[5]["value"]) == ("C1", 4, "F6")
    out = insights_tab.on_model(registry, "lenet5", seven, "C1", 4.5, "nope")
    assert (out[1]["value"], out[2]["value"]) == ("C1", 0)
    out = insights_tab.on_model(registry, "lenet5", seven, "conv1", 4, "nope")  # not this network's: no channel 4 of C3
    assert (out[1]["value"], out[2]["value"], out[5]["value"]) == ("C3", 0, out[5]["choices"][0])
    model, *views = insights_tab.restore(registry, {"ins.model": "tinycnn", "ins.layer": "conv1",
                                                    "ins.channel": 3.0, "ins.stage": "fc"}, seven)
    assert model["value"] == "tinycnn" and views[1]["value"] == "conv1" and views[2]["value"] == 3
    assert views[0].startswith("tinycnn:") and "conv1" in views[3]
    model, *views = insights_tab.restore(registry, {"ins.model": "../etc", "ins.channel": "3"}, None)
    assert model["value"] == "lenet5" and views[2]["value"] == 0  # an unknown checkpoint: the default


# ---- Playground --------------------------------------------------------------------------
PARAMS = (["Sobel x"], playground_tab.DEFAULT_GRID, "same", "zeros", 1, 1, "none", 0.1, "none", 2, 2)


def test_playground_handlers():
    up, status, kernels, view, *_ = playground_tab.on_change("Photo: cameraman (grayscale)", None, None, *PARAMS)
    assert up["visible"] is False and status == "" and "Sobel x (3×3)" in kernels and "Convolution" in view
    status = playground_tab.on_change(playground_tab.DRAWING, None, {"composite": BLANK}, *PARAMS)[1]
    assert "Draw a digit on the Draw tab first" in status
    status = playground_tab.on_change("Photo: cameraman (grayscale)", None, None, ["no such"], *PARAMS[1:])[1]
    assert "No kernel preset named 'no such'" in status
    walk, pool = playground_tab.on_step("Tiny 6×6 squares", None, None, 2, 1, *PARAMS)
    assert "window at row 0, column 1" in walk and "pooled" in pool


# ---- Train & Hub -------------------------------------------------------------------------
def test_train_handlers_refuse_with_sentences(registry):
    frame = train_tab.frame(status="x")
    assert len(frame) == len(train_tab.FRAME) and frame[0] == "x"
    msg, token = train_tab.on_push(registry, "lenet5", "me/x", "", False)
    assert "Pushing needs a Hugging Face token" in msg and token == ""
    msg, *_, token = train_tab.on_load(registry, "not a repo!", "", "", "hf_secret")
    assert msg.startswith("⚠️") and token == ""
    with pytest.raises(gr.Error, match="Give the id of a run"):
        train_tab.stop_training_api("../etc")


def test_one_constructor_for_a_training_configuration():
    assert TrainConfig.make(epochs=100, batch_size=128, hosted=False).epochs == 100  # the CLI may
    with pytest.raises(ValueError, match="Epochs must be between 1 and 50"):
        TrainConfig.make(epochs=100, batch_size=128)  # the app hosts at most 50
    with pytest.raises(ValueError, match="must be a whole number"):
        TrainConfig.make(epochs="1e400")


# ---- the wiring's pieces -----------------------------------------------------------------
def test_bound_keeps_what_gradio_reads():
    from gradio import utils
    run = bound(train_tab.run, "registry")
    assert inspect.isgeneratorfunction(run) and run.__name__ == "run"
    assert list(inspect.signature(run).parameters)[0] == "arch_v"
    assert utils.get_type_hints(run)["request"] is gr.Request
    cell = bound(insights_tab.on_cell, "registry")
    assert utils.get_type_hints(cell)["evt"] is gr.SelectData
    classify = bound(draw_tab.classify, "registry")
    assert classify.__doc__.startswith("Classify an image file") and not inspect.isgeneratorfunction(classify)


def test_stages_are_looked_up_by_name():
    m = build("lenet5")
    x = np.zeros((1, 1, 28, 28), np.float32)
    import torch
    f = m.features(torch.from_numpy(x), ["F6", "C3"])
    assert list(f) == ["F6", "C3"] and f["C3"].shape == (1, 16, 10, 10) and f["F6"].shape == (1, 84)
    assert m.channels("C5") == 120 and m.channels("OUTPUT") == 10 and m.last == "OUTPUT"
    with pytest.raises(UnknownStage, match="its stages: C1, C1_relu, S2"):
        m.features(torch.from_numpy(x), ["C9"])
    assert build("tinycnn").channels("conv2") == 32
