"""Attributions against hand computations; knock-outs, occlusion, sweeps and nudges."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from cnn_demo import explain
from cnn_demo.checkpoints import load
from cnn_demo.models import StagedNet
from cnn_demo.probe import probe
from conftest import ROOT


def tiny_net():
    torch.manual_seed(0)
    return StagedNet(OrderedDict([("conv", nn.Conv2d(1, 2, 1)), ("flatten", nn.Flatten()),
                                  ("fc", nn.Linear(2 * 28 * 28, 10))]), mean=0.0, std=1.0).eval()


@pytest.fixture(scope="module")
def lenet():
    return load(ROOT / "checkpoints" / "lenet5").model


@pytest.fixture(scope="module")
def seven():
    from PIL import Image
    from cnn_demo.preprocess import preprocess
    return preprocess(Image.open(ROOT / "examples" / "digits" / "mnist-test-0000-label7.png")).image


def test_saliency_of_a_linear_path_is_its_weights():
    net = tiny_net()
    x = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    w_conv = net.conv.weight.detach().numpy()[:, 0, 0, 0]
    V = net.fc.weight.detach().numpy().reshape(10, 2, 28, 28)
    # logit_c = Σ_k Σ_ij V[c,k,i,j] (w_k x_ij + b_k) + b  →  ∂/∂x_ij = Σ_k V[c,k,i,j] w_k
    expect = (V[3] * w_conv[:, None, None]).sum(0)
    np.testing.assert_allclose(explain.saliency(net, x, 3), expect, rtol=1e-5, atol=1e-6)
    contrast = ((V[3] - V[5]) * w_conv[:, None, None]).sum(0)
    np.testing.assert_allclose(explain.saliency(net, x, 3, versus=5), contrast, rtol=1e-5, atol=1e-6)


def test_gradcam_matches_the_hand_formula():
    net = tiny_net()
    x = np.random.default_rng(1).random((28, 28)).astype(np.float32)
    w_conv, b_conv = net.conv.weight.detach().numpy()[:, 0, 0, 0], net.conv.bias.detach().numpy()
    A = w_conv[:, None, None] * x[None] + b_conv[:, None, None]
    V = net.fc.weight.detach().numpy().reshape(10, 2, 28, 28)
    checked = 0
    for c in range(10):
        alpha = V[c].mean((1, 2))  # the gradient of logit c w.r.t. A_k is V[c, k]; its spatial mean
        cam = np.maximum((alpha[:, None, None] * A).sum(0), 0)
        got = explain.gradcam(net, x, c, "conv")
        if cam.max() > 0:
            np.testing.assert_allclose(got, cam / cam.max(), atol=1e-5)
            checked += 1
        else:
            assert (got == 0).all()
    assert checked >= 3


def test_occluding_an_empty_region_changes_nothing(lenet, seven):
    heat = explain.occlusion(lenet, seven, 7)
    empty = np.ones((28, 28), bool)
    ys, xs = np.nonzero(seven > 0)
    for y, x in zip(ys, xs):
        empty[max(0, y - 7):y + 8, max(0, x - 7):x + 8] = False  # no patch over these pixels touched ink
    assert empty.any() and np.abs(heat[empty]).max() < 1e-6
    assert heat.max() > 0  # and blanking the ink does lower the 7


def test_zeroing_a_filter_zeroes_its_feature_map(lenet, seven):
    ko = explain.knocked_out(lenet, "C1", [2, 4])
    x = torch.from_numpy(seven)[None, None]
    stages, _ = probe(ko, x)
    c1 = next(s for s in stages if s.name == "C1").output
    assert (c1[2] == 0).all() and (c1[4] == 0).all() and np.abs(c1[0]).max() > 0
    assert (lenet.C1.weight[2] != 0).any()  # the original is untouched


def test_sweep_at_zero_equals_the_plain_prediction(lenet, seven):
    values, probs, _ = explain.sweep(lenet, seven, "shift right (px)", [0.0, 3.0])
    plain = torch.softmax(lenet(torch.from_numpy(seven)[None, None]), 1).detach().numpy()[0]
    np.testing.assert_allclose(probs[0], plain, atol=1e-5)
    for kind in explain.SWEEPS:
        v, p, xs = explain.sweep(lenet, seven, kind)
        assert p.shape == (len(v), 10) and xs.shape == (len(v), 1, 28, 28)


def test_nudge_reaches_the_target_and_stays_an_image(lenet, seven):
    after, delta, steps, p = explain.nudge(lenet, seven, target=1)
    assert after.min() >= 0 and after.max() <= 1
    with torch.no_grad():
        probs = torch.softmax(lenet(torch.from_numpy(after)[None, None]), 1)[0]
    assert int(probs.argmax()) == 1 and p == pytest.approx(float(probs[1]))
    assert np.abs(delta).max() > 0


def test_receptive_field_centres():
    from cnn_demo.models import build
    assert explain.centres(build("lenet5"), "C1") == (0.0, 1.0)
    assert explain.centres(build("lenet5"), "C3") == (4.5, 2.0)  # C3 cell i sees input pixels 2i … 2i+9
    assert explain.centres(build("tinycnn"), "conv2") == (0.5, 2.0)
    cam = np.zeros((10, 10), np.float32)
    cam[0, 0] = 1
    grid = explain.to_input_grid(cam, 4.5, 2.0)
    assert np.unravel_index(grid.argmax(), grid.shape) == (0, 0) and grid[4, 4] == 1.0 and grid[5, 5] < 1


def test_knocked_out_accuracy_is_worked_out_once_per_checkpoint_and_filters(mnist):
    """The Why tab's 10,000-digit accuracy runs on the CPU on every kind of hardware (a ZeroGPU
    task would wait for its GPU and spend the visitor's quota), once per checkpoint and set of
    filters: the same knock-out asked again, in any order, is not computed again."""
    from cnn_demo import explain
    from cnn_demo.checkpoints import load
    from cnn_demo.evaluate import accuracy
    from cnn_demo.ui.why_tab import accuracy_of
    m = load(ROOT / "checkpoints" / "lenet5").model
    x, y = mnist.raw("test")[:2000], mnist.labels("test")[:2000]
    ko = explain.knocked_out(m, "C1", [0, 1])
    cpu = accuracy(ko, x, y)
    calls = []

    def compute():
        calls.append(1)
        return accuracy(ko, x, y)
    key = ("test-lenet5", "C1", (0, 1))
    got = accuracy_of(key, compute)
    assert type(got) is float and got == cpu and calls == [1]
    assert accuracy_of(key, compute) == cpu and calls == [1]  # kept
    assert accuracy_of(("test-lenet5", "C1", (0,)), lambda: 0.5) == 0.5  # another set of filters: its own
    assert cpu < accuracy(m, x, y)  # the knock-out is real
