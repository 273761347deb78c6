"""Checkpoints as people publish them — a bare state_dict with their own layer names, no word
on the architecture or the inputs — recognised from the tensors, mapped onto the app's
networks with equal outputs, their normalisation found from digits (or told), loaded from a
(loopback) Hub by repo id alone and usable in every tab."""
import json
from collections import OrderedDict

import numpy as np
import pytest
import torch
from safetensors.torch import save as st_save
from safetensors.torch import save_file
from torch import nn

from cnn_demo import checkpoints, hub, insights, recognise
from cnn_demo.checkpoints import CheckpointError
from cnn_demo.models import MNIST_MEAN, MNIST_STD
from conftest import ROOT
from fake_hub import FakeHub

LENET = checkpoints.load(ROOT / "checkpoints" / "lenet5").model
TINY = checkpoints.load(ROOT / "checkpoints" / "tinycnn").model
X = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))


@pytest.fixture(autouse=True)
def mnist_at_hand(mnist_dir, monkeypatch):
    monkeypatch.setenv("CNN_DEMO_DATA", str(mnist_dir))


def notebook_lenet() -> nn.Sequential:
    """LeNet-5 as a course notebook builds it: the app's layer names, ReLUs named func1, ..."""
    s = nn.Sequential(OrderedDict([
        ("C1", nn.Conv2d(1, 6, 5, padding=2)), ("func1", nn.ReLU()), ("S2", nn.MaxPool2d(2)),
        ("C3", nn.Conv2d(6, 16, 5)), ("func2", nn.ReLU()), ("S4", nn.MaxPool2d(2)),
        ("C5", nn.Conv2d(16, 120, 5)), ("func3", nn.ReLU()), ("flat", nn.Flatten()),
        ("F6", nn.Linear(120, 84)), ("func4", nn.ReLU()), ("OUTPUT", nn.Linear(84, 10))]))
    s.load_state_dict(LENET.state_dict())
    return s


class SimpleCNN(nn.Module):
    """LeNet-like, as many tutorials write it: C5 is a Linear(400, 120) after flattening."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)
        w = LENET.state_dict()  # trained weights, so the normalisation can be told from digits
        with torch.no_grad():
            for mine, app in (("conv1", "C1"), ("conv2", "C3"), ("fc1", "C5"), ("fc2", "F6"), ("fc3", "OUTPUT")):
                getattr(self, mine).weight.copy_(w[f"{app}.weight"].reshape(getattr(self, mine).weight.shape))
                getattr(self, mine).bias.copy_(w[f"{app}.bias"])

    def forward(self, x):
        x = (x - MNIST_MEAN) / MNIST_STD
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2).flatten(1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class RawTiny(nn.Module):
    """TinyCNN with a shared pool, trained on ToTensor() inputs (no normalisation): here the
    bundled TinyCNN with its normalisation folded into conv1, so its raw-input answers are known."""

    def __init__(self):
        super().__init__()
        c1, c2 = TINY.widths
        self.conv1, self.conv2 = nn.Conv2d(1, c1, 3, padding=1), nn.Conv2d(c1, c2, 3, padding=1)
        self.pool, self.fc = nn.MaxPool2d(2), nn.Linear(c2 * 7 * 7, 10)
        sd = {k: v.clone() for k, v in TINY.state_dict().items()}
        w = sd["conv1.weight"]
        sd["conv1.bias"] = sd["conv1.bias"] - TINY.mean / TINY.std * w.sum((1, 2, 3))
        sd["conv1.weight"] = w / TINY.std
        self.load_state_dict(sd)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        return self.fc(self.pool(torch.relu(self.conv2(x))).flatten(1))


def saved(tmp_path, module, name="model.safetensors", config=None):
    folder = tmp_path / name.split(".")[0]
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, folder / "model.safetensors")
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))
    return folder


@torch.inference_mode()
@pytest.mark.parametrize("make, arch, mean", [(notebook_lenet, "lenet5", MNIST_MEAN), (SimpleCNN, "lenet5", MNIST_MEAN),
                                              (RawTiny, "tinycnn", 0.0)])
def test_a_bare_state_dict_is_recognised_and_answers_as_its_own_network(tmp_path, make, arch, mean):
    module = make().eval()
    ck = checkpoints.load(saved(tmp_path, module))
    assert ck.arch == arch and ck.model.mean == pytest.approx(mean)
    assert ck.found[0].startswith(f"Recognised as {'LeNet-5' if arch == 'lenet5' else 'TinyCNN'}")
    assert "2,000 MNIST test digits" in ck.found[1]
    # the same network: the app's forward pass on [0, 1] pixels gives the logits its own forward
    # pass gives on what it was trained with (the notebook's transform normalises outside the model)
    own = module((X - MNIST_MEAN) / MNIST_STD) if make is notebook_lenet else module(X)
    torch.testing.assert_close(ck.model(X), own, atol=1e-4, rtol=1e-4)


def test_a_linear_400_120_is_c5_reshaped():
    sd = {k: v for k, v in SimpleCNN().state_dict().items()}
    r = recognise.recognise(sd)
    assert "Linear(400, 120) read as C5" in r.how and "fc1 → C5" in r.how
    assert torch.equal(r.tensors["C5.weight"].reshape(120, 400), sd["fc1.weight"])


def test_a_pytorch_model_hub_mixin_folder(tmp_path):
    """PyTorchModelHubMixin writes the constructor's arguments to config.json, never an arch."""
    ck = checkpoints.load(saved(tmp_path, SimpleCNN(), config={"num_classes": 10, "dropout": 0.1}))
    assert ck.arch == "lenet5" and ck.found


def test_the_learner_may_say_what_the_inputs_are(tmp_path):
    folder = saved(tmp_path, RawTiny())
    assert checkpoints.load(folder, inputs="mnist").model.mean == pytest.approx(MNIST_MEAN)
    assert checkpoints.load(folder, inputs="raw").found == [f"Recognised as {TINY.title} from its tensors' shapes."]
    assert TINY.title == "TinyCNN 32/64"  # the bundled one
    with pytest.raises(CheckpointError, match="Inputs must be one of auto, mnist, raw"):
        checkpoints.load(folder, inputs="loud")


def test_without_mnist_the_example_digits_decide(tmp_path, monkeypatch):
    monkeypatch.delenv("CNN_DEMO_DATA")
    ck = checkpoints.load(saved(tmp_path, notebook_lenet()))
    assert ck.model.mean == pytest.approx(MNIST_MEAN) and "310 distorted example digits" in ck.found[1]


def test_a_tinycnn_of_other_widths_is_read_at_its_widths_and_a_huge_one_refused(tmp_path):
    """A notebook's TinyCNN with 24/48 filters: recognised at those widths, same outputs; one
    wider than the app serves gets the app's sentence, not an out-of-memory."""
    def notebook(c1, c2):
        return nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(c2 * 49, 10))
    torch.manual_seed(0)
    mine = notebook(24, 48)
    ck = checkpoints.load(saved(tmp_path, mine), inputs="raw")
    assert ck.model.widths == (24, 48) and ck.meta["widths"] == (24, 48)
    assert ck.found == ["Recognised as TinyCNN 24/48 from its tensors' shapes; layers renamed 0 → conv1, "
                        "3 → conv2, 7 → fc."]
    assert "TinyCNN 24/48" in ck.title
    with torch.no_grad():
        assert torch.allclose(ck.model(X), mine(X), atol=1e-5)
    with pytest.raises(CheckpointError, match=r"TinyCNN's shape with 96/32 filters, wider than the app serves "
                                              r"\(at most 64/128\)"):
        checkpoints.load(saved(tmp_path, notebook(96, 32), name="wide.safetensors"))


def test_what_does_not_fit_is_named(tmp_path):
    odd = nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 24 * 24, 10))
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(saved(tmp_path, odd))
    msg = str(e.value)
    assert "does not say which architecture it is" in msg and "0.weight [8, 1, 5, 5]" in msg
    assert "3.weight [10, 4608]" in msg and "LeNet-5: [6, 1, 5, 5]" in msg
    assert "TinyCNN: [c1, 1, 3, 3], [c2, c1, 3, 3], [10, c2·49]" in msg
    bn = nn.Sequential(nn.Conv2d(1, 6, 5), nn.BatchNorm2d(6))
    with pytest.raises(CheckpointError, match="batch normalisation"):
        checkpoints.load(saved(tmp_path, bn, name="bn.safetensors"))


def test_a_bare_state_dict_from_the_hub_by_repo_id_works_in_every_tab(tmp_path, monkeypatch):
    from huggingface_hub import constants
    from cnn_demo.registry import Registry
    from cnn_demo.ui import draw_tab, insights_tab, train_tab, why_tab
    monkeypatch.setenv("CNN_DEMO_HUB_CACHE", str(tmp_path / "hub"))
    server = FakeHub()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    try:
        server.add_repo("student/simple-cnn", {"model.safetensors": st_save(dict(SimpleCNN().state_dict())),
                                               "README.md": b"# my first CNN"})
        registry = Registry(user_dir=tmp_path / "runs").scan()
        got = train_tab.load_from_hub_api(registry, "student/simple-cnn")
        name = got["checkpoint"]
        assert name.startswith("hub:student/simple-cnn@") and "Linear(400, 120)" in got["found"][0]
        seven = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(
            ROOT / "examples" / "digits" / "mnist-test-0000-label7.png").convert("L"))
        value = {"composite": seven}
        p1, _, _, _, stages = draw_tab.on_draw(registry, value, name)
        assert max(p1, key=p1.get) == "7" and "C5" in stages
        assert "The model reads **7**" in why_tab.explain_all(registry, value, name, why_tab.PREDICTION, None,
                                                               "rotate (degrees)")[0]
        assert "of the test digits right" in insights_tab.on_model(registry, name, value)[0]  # computed on load
        assert isinstance(registry.get(name).cached("insights", lambda: None), insights.Insights)
        raw = hub.load_from_hub("student/simple-cnn", inputs="raw")
        assert raw.name.endswith("~raw") and raw.model.mean == 0.0
    finally:
        server.close()
