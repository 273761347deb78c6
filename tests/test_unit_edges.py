"""unit.py beyond the two bundled networks' shapes: a pool whose stride is not its size, a linear
layer without a bias, a network whose last stage is a ReLU; each value checked against numpy
on the model's own activations, each receptive field worked out by hand."""
import math
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from cnn_demo.models import StagedNet
from cnn_demo.unit import activations, explain, receptive_field, softmax_steps


@pytest.fixture(scope="module")
def odd_net():
    """conv 3×3 (padding 1) → ReLU → max pool 3×3 with stride 1 → flatten → linear without a
    bias → ReLU as the last stage."""
    torch.manual_seed(0)
    return StagedNet(OrderedDict([
        ("conv", nn.Conv2d(1, 2, 3, padding=1)), ("conv_relu", nn.ReLU()), ("pool", nn.MaxPool2d(3, stride=1)),
        ("avg", nn.AvgPool2d((2, 2))), ("flat", nn.Flatten()), ("fc", nn.Linear(2 * 13 * 13, 10, bias=False)),
        ("fc_relu", nn.ReLU())]), mean=0.0, std=1.0).eval()


@pytest.fixture(scope="module")
def x():
    return torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(1))


def test_receptive_fields_of_a_pool_whose_stride_is_not_its_size(odd_net):
    # pool (r, c) covers conv rows r..r+2; conv row i covers image rows i-1..i+1
    assert receptive_field(odd_net, "pool", 0, 0) == (0, 0, 4, 4)
    assert receptive_field(odd_net, "pool", 10, 5) == (9, 4, 14, 9)
    assert receptive_field(odd_net, "pool", 25, 25) == (24, 24, 28, 28)
    # avg (r, c), a 2×2 pool given as a tuple: pool rows 2r..2r+1, so image rows 2r-1..2r+4
    assert receptive_field(odd_net, "avg", 3, 4) == (5, 7, 11, 13)


def test_a_pool_unit_with_stride_one_is_its_window_max(odd_net, x):
    acts = activations(odd_net, x)
    relu = acts["conv_relu"][0].numpy()
    for ch, (r, c) in ((0, (0, 0)), (1, (7, 11)), (1, (25, 25))):
        u = explain(odd_net, x, "pool", ch, (r, c), acts=acts)
        win = relu[ch, r:r + 3, c:c + 3]
        assert u.kind == "pool" and np.array_equal(u.window, win)
        assert u.total == pytest.approx(float(win.max())) and u.value == pytest.approx(float(win.max()))
        assert win[u.winner] == win.max()
        assert u.receptive == receptive_field(odd_net, "pool", r, c) and u.after_relu is None
    u = explain(odd_net, x, "avg", 1, (3, 4), acts=acts)
    pooled = acts["pool"][0].numpy()
    assert np.array_equal(u.window, pooled[1, 6:8, 8:10])
    assert u.total == pytest.approx(float(pooled[1, 6:8, 8:10].mean())) and u.winner == ()


def test_a_linear_unit_without_a_bias_and_a_relu_as_the_last_stage(odd_net, x):
    acts = activations(odd_net, x)
    inp = acts["flat"][0].numpy().astype(np.float64)
    w = odd_net.stage("fc").weight[3].detach().numpy().astype(np.float64)
    u = explain(odd_net, x, "fc", 3, acts=acts)
    assert (u.stage, u.kind, u.channel, u.position, u.bias) == ("fc", "linear", 3, (), 0.0)
    assert u.total == pytest.approx(float(inp @ w), abs=1e-5) and u.value == pytest.approx(float(inp @ w), abs=1e-5)
    assert u.after_relu == pytest.approx(max(0.0, float(inp @ w)), abs=1e-6)
    prods = inp * w
    assert [i for i, *_ in u.top] == list(np.argsort(-np.abs(prods), kind="stable")[:10])
    assert u.top[0][3] == pytest.approx(prods[u.top[0][0]], abs=1e-6)


def test_a_linear_unit_with_a_bias_adds_it_and_names_its_stage():
    torch.manual_seed(2)
    net = StagedNet(OrderedDict([("flat", nn.Flatten()), ("out", nn.Linear(784, 10))]), mean=0.0, std=1.0)
    x = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    u = explain(net, x, "out", 9)
    b = float(net.stage("out").bias[9].detach())
    w = net.stage("out").weight[9].detach().numpy().astype(np.float64)
    assert u.bias == b and u.total == pytest.approx(float(x.flatten().numpy() @ w) + b, abs=1e-5)
    assert (u.stage, u.kind, u.channel, u.position, u.after_relu) == ("out", "linear", 9, (), None)


def test_the_softmax_of_a_batch_of_one_worked_by_hand():
    logits = torch.tensor([[2.0, -1.0, 0.5]], dtype=torch.float32)
    s = softmax_steps(logits)
    assert list(s) == ["logits", "shifted", "exp", "sum", "probabilities"]
    assert s["logits"].shape == (3,) and s["logits"].dtype == np.float64
    assert list(s["shifted"]) == [0.0, -3.0, -1.5]
    e = [1.0, math.exp(-3.0), math.exp(-1.5)]
    assert s["exp"] == pytest.approx(e, rel=1e-15) and float(s["sum"]) == pytest.approx(sum(e), rel=1e-15)
    assert s["probabilities"] == pytest.approx([v / sum(e) for v in e], rel=1e-15)


def test_the_softmax_keeps_float64_precision():
    """float32 logits that differ by less than float32 can tell apart stay apart in float64."""
    z = [0.1, 0.1 + 1e-9]
    s = softmax_steps(z)
    assert s["logits"][1] > s["logits"][0] and s["probabilities"][1] > s["probabilities"][0]
