import numpy as np
import pytest
import torch

from cnn_demo import checkpoints
from cnn_demo.models import build
from cnn_demo.unit import UnitError, activations, explain, explainable, receptive_field, softmax_steps
from conftest import ROOT


@pytest.fixture(scope="module", params=["lenet5", "tinycnn"])
def net(request, mnist):
    model = checkpoints.load(ROOT / "checkpoints" / request.param).model
    return model, mnist.images("test")[:1]


def test_every_unit_adds_up_to_the_models_own_value(net):
    """For every explainable stage of both networks, units at the corners and the middle: the
    worked arithmetic equals the forward pass, and the ReLU after it is max(0, total)."""
    model, x = net
    acts = activations(model, x)
    for stage in explainable(model):
        out = acts[stage][0]
        positions = [()] if out.ndim == 1 else \
            [(0, 0), (out.shape[1] - 1, out.shape[2] - 1), (out.shape[1] // 2, out.shape[2] // 3)]
        for ch in {0, out.shape[0] // 2, out.shape[0] - 1}:
            for pos in positions:
                u = explain(model, x, stage, ch, pos or (0, 0), acts=acts)
                want = float(out[ch] if out.ndim == 1 else out[ch][pos])
                assert u.value == pytest.approx(want, abs=1e-6)
                assert u.total == pytest.approx(want, abs=1e-4), (stage, ch, pos)
                if u.kind == "conv":
                    assert u.sums.sum() + u.bias == pytest.approx(want, abs=1e-4)
                    assert np.allclose(u.products, u.window * u.kernel)
                    assert u.window.shape == u.kernel.shape == tuple(model.stage(stage).weight.shape[1:])
                if u.kind == "pool":
                    assert u.window[u.winner] == pytest.approx(want)
                if u.kind == "linear":
                    assert abs(u.top[0][3]) == pytest.approx(np.abs(u.products).max())
                    assert u.products.sum() + u.bias == pytest.approx(want, abs=1e-4)
                if u.after_relu is not None:
                    assert u.after_relu == pytest.approx(max(0.0, want), abs=1e-6)


def test_the_first_stage_reads_the_normalised_image(net):
    model, x = net
    first = explainable(model)[0]
    u = explain(model, x, first, 0, (14, 14))
    pad = model.stage(first).padding[0]
    k = model.stage(first).kernel_size[0]
    raw = torch.nn.functional.pad(x[0, 0], (pad,) * 4)[14:14 + k, 14:14 + k]
    assert np.allclose(u.window[0], ((raw - model.mean) / model.std).numpy(), atol=1e-6)


def test_receptive_fields_of_lenet():
    m = build("lenet5")
    assert receptive_field(m, "C1", 0, 0) == (0, 0, 3, 3)  # 5×5 with 2 of padding: 3×3 of the image
    assert receptive_field(m, "C1", 10, 20) == (8, 18, 13, 23)
    assert receptive_field(m, "S2", 0, 0) == (0, 0, 4, 4)
    assert receptive_field(m, "C3", 0, 0) == (0, 0, 12, 12)
    assert receptive_field(m, "C3", 9, 9) == (16, 16, 28, 28)
    assert receptive_field(m, "C5", 0, 0) == (0, 0, 28, 28)  # C5 sees the whole digit
    t = build("tinycnn")
    assert receptive_field(t, "conv2", 0, 0) == (0, 0, 5, 5)
    assert receptive_field(t, "pool2", 6, 6) == (21, 21, 28, 28)


def test_the_softmax_worked_through_matches_the_prediction(net):
    model, x = net
    logits = model(x)[0].detach()
    s = softmax_steps(logits.numpy())
    assert np.allclose(s["probabilities"], torch.softmax(logits.double(), 0).numpy(), atol=1e-9)
    assert s["sum"] == pytest.approx(s["exp"].sum()) and s["shifted"].max() == 0
    assert softmax_steps([1000.0, 0.0])["probabilities"][0] == pytest.approx(1.0)  # no overflow


@pytest.mark.parametrize("stage,ch,pos,msg", [
    ("C9", 0, (0, 0), "No stage 'C9'"), ("C1", 6, (0, 0), "C1 has 6 maps"), ("C1", -1, (0, 0), "0 to 5"),
    ("C1", 0, (28, 0), "28×28"), ("C1_relu", 0, (0, 0), "choose one of C1, S2"), ("F6", 84, (), "84 units"),
    ("C1", 0, ("a", 1), "(row, column)"),
])
def test_units_that_do_not_exist_are_refused_by_name(stage, ch, pos, msg):
    with pytest.raises((UnitError, KeyError), match=msg.replace("(", r"\(").replace(")", r"\)")):
        explain(build("lenet5"), torch.zeros(1, 1, 28, 28), stage, ch, pos)
