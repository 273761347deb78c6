import pytest
import torch

from cnn_demo.models import ARCHS, UnknownArch, build
from cnn_demo.probe import layer_table, probe


def test_lenet5_has_the_classic_named_stages():
    m = build("lenet5")
    names = [n for n, _ in m.named_children()]
    for layer in ["C1", "S2", "C3", "S4", "C5", "F6", "OUTPUT"]:
        assert layer in names
    assert names.index("C1") < names.index("S2") < names.index("C3") < names.index("S4") < names.index("C5") \
        < names.index("F6") < names.index("OUTPUT")


@pytest.mark.parametrize("arch", list(ARCHS))
def test_every_stage_output_and_logits(arch):
    m = build(arch).eval()
    x = torch.rand(3, 1, 28, 28)
    stages, probs = probe(m, x)
    assert probs.shape == (3, 10)
    assert abs(probs.sum(1) - 1).max() < 1e-5
    with torch.no_grad():
        assert torch.allclose(torch.softmax(m(x), 1), torch.from_numpy(probs), atol=1e-6)
    assert stages[-1].shape == (10,)


def test_lenet5_stage_shapes():
    stages, _ = probe(build("lenet5").eval(), torch.rand(1, 1, 28, 28))
    shapes = {s.name: s.shape for s in stages}
    assert shapes == {"C1": (6, 28, 28), "C1_relu": (6, 28, 28), "S2": (6, 14, 14), "C3": (16, 10, 10),
                      "C3_relu": (16, 10, 10), "S4": (16, 5, 5), "C5": (120, 1, 1), "C5_relu": (120, 1, 1),
                      "F6": (84,), "F6_relu": (84,), "OUTPUT": (10,)}


def test_tinycnn_stage_shapes():
    stages, _ = probe(build("tinycnn").eval(), torch.rand(1, 1, 28, 28))
    assert [(s.name, s.shape) for s in stages] == [
        ("conv1", (16, 28, 28)), ("relu1", (16, 28, 28)), ("pool1", (16, 14, 14)),
        ("conv2", (32, 14, 14)), ("relu2", (32, 14, 14)), ("pool2", (32, 7, 7)), ("fc", (10,))]


def test_layer_table_arithmetic():
    rows = {r["stage"]: r for r in layer_table(build("lenet5"))}
    assert rows["C1"]["params"] == 6 * 25 + 6
    assert rows["C1"]["macs"] == 6 * 28 * 28 * 25
    assert rows["C1"]["formula"] == "⌊(28 + 2·2 − 5)/1⌋ + 1 = 28"
    assert rows["S2"]["formula"] == "⌊(28 + 2·0 − 2)/2⌋ + 1 = 14"
    assert rows["C3"]["output"] == "16×10×10" and rows["C3"]["params"] == 16 * 6 * 25 + 16
    assert rows["C5"]["output"] == "120×1×1"
    assert sum(r["params"] for r in rows.values()) == sum(p.numel() for p in build("lenet5").parameters())


def test_unknown_architecture_is_one_clear_sentence():
    with pytest.raises(UnknownArch, match="Unknown architecture 'resnet'; known: lenet5, tinycnn"):
        build("resnet")
