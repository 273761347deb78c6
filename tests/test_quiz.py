"""Predict, then reveal: a lesson's question is answered by the live app. Each check against an
answer worked out independently (by hand, or from the weights' own shapes), and every bundled
lesson's question has the app's answer among its choices once the lesson is set up."""
import copy

import numpy as np
import pytest
import torch

from cnn_demo import lessons, quiz
from cnn_demo.checkpoints import load
from cnn_demo.playground import PRESETS
from cnn_demo.sample_images import examples
from conftest import ROOT

TINY6 = examples()["Tiny 6×6 squares"]
VERTICAL = PRESETS["Vertical edge"]


def ctx(**kw) -> quiz.Context:
    conv = {"kernels": VERTICAL, "padding": "valid", "stride": 1, "dilation": 1, "padding_mode": "zeros",
            "activation": "none", "slope": 0.01, "pooling": "none", "pool_kernel": 2, "pool_stride": 2}
    conv.update(kw.pop("conv", {}))
    return quiz.Context(image=kw.pop("image", TINY6), conv=conv, **kw)


def test_output_sizes_are_the_convolutions_own():
    assert TINY6.shape == (6, 6)
    assert quiz.output_size(ctx(), {})[0] == "4×4"  # 6 − 3 + 1
    assert quiz.output_size(ctx(), {"padding": "1"})[0] == "6×6"  # (6 + 2 − 3) + 1
    assert quiz.output_size(ctx(), {"padding": "1", "stride": 2})[0] == "3×3"  # ⌊(6 + 2 − 3)/2⌋ + 1
    big = np.zeros((512, 512), np.float32)
    answer, why = quiz.output_size(ctx(image=big, conv={"padding": "same", "pooling": "max"}), {})
    assert answer == "256×256" and "pooling" in why  # 512 kept, then halved


def test_maps_count_the_kernels_added():
    three = [k for n in ("Sobel x", "Sobel y", "Box blur 3×3") for k in PRESETS[n]]
    assert quiz.maps(ctx(conv={"kernels": three}), {"add": ["Laplacian"]})[0] == "4"
    assert quiz.maps(ctx(conv={"kernels": three}), {})[0] == "3"


def test_weights_come_from_the_networks_own_tensors():
    m = load(ROOT / "checkpoints" / "lenet5").model
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    c = quiz.Context(model=m, title="lenet5")
    assert quiz.filter_numbers(c, {"stage": "C3"})[0] == str(int(np.prod(shapes["C3.weight"][1:]))) == "150"
    assert quiz.filter_numbers(c, {"stage": "C1"})[0] == "25"
    with pytest.raises(quiz.QuizError, match="no layer S2 with weights"):
        quiz.filter_numbers(c, {"stage": "S2"})
    assert quiz.colour_filter(quiz.Context(seed=7), {})[0] == str(3 * 3 * 3)


def test_a_knock_out_and_a_reading_are_the_networks_own(seven):
    from cnn_demo import drawing
    m = load(ROOT / "checkpoints" / "lenet5").model
    x = drawing.prepared(seven).tensor()
    manual = copy.deepcopy(m)  # the same knock-out, done by hand: zero three filters and their biases
    with torch.no_grad():
        manual.C1.weight[[0, 1, 2]] = 0
        manual.C1.bias[[0, 1, 2]] = 0
        intact, knocked = int(m(x).argmax()), int(manual(x).argmax())
    c = quiz.Context(model=m, title="lenet5", x=x)
    answer, why = quiz.knockout_same(c, {"layer": "C1", "filters": [0, 1, 2]})
    assert answer == ("yes" if intact == knocked else "no") and f"reads {knocked}" in why
    assert quiz.prediction(c, {})[0] == str(intact) == "7"
    with pytest.raises(quiz.QuizError, match="Draw a digit"):
        quiz.prediction(quiz.Context(model=m), {})


def test_grading_says_right_wrong_or_why_it_cannot():
    ask = {"q": "?", "check": "output_size", "choices": ["6×6", "4×4"]}
    right, said = quiz.grade(ask, "4×4", ctx())
    assert right is True and said.startswith("Right: 4×4. The app shows it: the app's convolution gives 4×4: height ")
    right, said = quiz.grade(ask, "6×6", ctx())
    assert right is False and said.startswith("Not quite: it is 4×4, not 6×6.")
    assert quiz.grade(ask, None, ctx()) == (None, "Choose an answer first, then check it.")
    assert quiz.grade(ask, "4×4", ctx(image=None))[0] is None  # no image: a sentence, no crash
    assert quiz.grade({"q": "?", "check": "nope", "choices": ["a", "b"]}, "a", ctx()) == \
        (None, "This lesson asks for a check the app does not have (nope).")


def test_every_lessons_answer_is_among_its_choices(app_demo):
    """Set up as the app sets it up (its view over the app's defaults), each lesson's question is
    answered by the live app with one of the choices it offers."""
    from cnn_demo import drawing
    from cnn_demo.ui.share import apply_state
    shared = app_demo.shared
    inputs, context = shared.parts["playground"]
    asked = 0
    for ls in lessons.load()[0]:
        assert ls.ask, f"{ls.name} asks nothing"
        out = apply_state(shared, ls.view, "")
        values = []
        for comp in inputs:  # the playground as the lesson leaves it
            u = out.get(comp, {})
            values.append(u.get("value", comp.value) if isinstance(u, dict) else u)
        image, conv, seed = context(*[v.get("data") if isinstance(v, dict) and "data" in v else v for v in values])
        sketch = out.get(shared.sketch)
        ck = shared.registry.get(out[shared.model]["value"]).ck
        c = quiz.Context(model=ck.model, title=ck.name, image=image, conv=conv, seed=seed,
                         x=drawing.prepared(sketch).tensor() if sketch is not None else None)
        answer, _ = quiz.answer(ls.ask, c)
        assert answer in ls.ask["choices"], (ls.name, answer, ls.ask["choices"])
        asked += 1
    assert asked >= 7
