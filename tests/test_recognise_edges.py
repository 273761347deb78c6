"""recognise.py's every refusal reached with its sentence, a layer without a bias noted, and a tie
between the two normalisations going to MNIST's, as its docstring says (the accuracies checked
against the labels counted by hand, not against the function)."""
import pytest
import torch
from torch import nn

from cnn_demo import recognise
from cnn_demo.models import MNIST_MEAN, MNIST_STD, build
from cnn_demo.recognise import NotRecognised


def tiny_sd(c1=16, c2=32, bias=True):
    torch.manual_seed(0)
    s = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1, bias=bias), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(c1, c2, 3, padding=1, bias=bias), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(c2 * 49, 10, bias=bias))
    return dict(s.state_dict())


def test_layers_without_biases_get_zeros_and_a_note():
    sd = tiny_sd(bias=False)
    r = recognise.recognise(sd)
    assert r.arch == "tinycnn"
    assert r.how == ("Recognised as TinyCNN from its tensors' shapes; layers renamed 0 → conv1, 3 → conv2, "
                     "7 → fc; 0 has no bias (zeros used); 3 has no bias (zeros used); 7 has no bias (zeros used).")
    for name, n in (("conv1", 16), ("conv2", 32), ("fc", 10)):
        b = r.tensors[f"{name}.bias"]
        assert b.shape == (n,) and b.dtype == torch.float32 and not b.any()
    assert torch.equal(r.tensors["conv1.weight"], sd["0.weight"])


def test_only_the_layer_without_a_bias_is_noted_and_the_others_keep_theirs():
    sd = tiny_sd()
    del sd["3.bias"]
    r = recognise.recognise(sd)
    assert r.how.endswith("; 3 has no bias (zeros used).") and r.how.count("no bias") == 1
    assert torch.equal(r.tensors["conv1.bias"], sd["0.bias"]) and torch.equal(r.tensors["fc.bias"], sd["7.bias"])


def test_a_network_with_the_apps_names_is_not_said_to_be_renamed():
    sd = {f"conv1.{k.split('.')[1]}" if k.startswith("0.") else f"conv2.{k.split('.')[1]}" if k.startswith("3.")
          else f"fc.{k.split('.')[1]}": v for k, v in tiny_sd().items()}
    assert recognise.recognise(sd).how == "Recognised as TinyCNN from its tensors' shapes."


@pytest.mark.parametrize("change,said", [
    (lambda sd: sd.update({"0.running_mean": torch.zeros(16), "0.running_var": torch.ones(16)}),
     "its tensors include batch normalisation (running_mean, running_var), which neither LeNet-5 nor TinyCNN has"),
    (lambda sd: sd.update({"scale": torch.ones(1)}), "tensors that are neither weights nor biases: 'scale'"),
    (lambda sd: sd.update({"head.bias": torch.ones(10)}), "biases without weights: 'head.bias'"),
    (lambda sd: sd.update({"7.weight": torch.ones(10, 1568, 1)}),
     "7.weight has shape [10, 1568, 1], neither a convolution's nor a linear layer's"),
    (lambda sd: sd.update({"3.weight": torch.ones(32, 8, 3, 3)}),
     "its convolutions do not chain (3.weight [32, 8, 3, 3] left after 16 channels)"),
    (lambda sd: sd.update({"7.weight": torch.ones(11, 1568), "7.bias": torch.ones(11)}),
     "its linear layers do not chain to 10 outputs (7.weight [11, 1568])"),
])
def test_each_refusal_names_what_does_not_fit(change, said):
    sd = tiny_sd()
    change(sd)
    with pytest.raises(NotRecognised) as e:
        recognise.recognise(sd)
    assert str(e.value) == said


def test_batch_norms_counter_alone_is_not_a_reason_to_refuse():
    sd = tiny_sd()
    sd["0.num_batches_tracked"] = torch.tensor(5)
    assert recognise.recognise(sd).arch == "tinycnn"


def test_a_tie_between_the_normalisations_goes_to_mnists(mnist, monkeypatch, mnist_dir):
    """A network that answers 7 whatever it is shown reads both ways equally well: MNIST's wins."""
    monkeypatch.setenv("CNN_DEMO_DATA", str(mnist_dir))
    sd = {k: torch.zeros_like(v) for k, v in build("lenet5").state_dict().items()}
    sd["OUTPUT.bias"][7] = 1.0
    mean, std, said = recognise.normalisation("lenet5", sd)
    assert (mean, std) == (MNIST_MEAN, MNIST_STD)
    sevens = int((mnist.test_y[:2000] == 7).sum())  # the labels, counted
    share = f"{sevens / 2000:.1%}"
    assert said == (f"it expects MNIST-normalised inputs: it reads {share} of 2,000 MNIST test digits that way, "
                    f"{share} with raw [0, 1] inputs")


NEED = ("LeNet-5: [6, 1, 5, 5], [16, 6, 5, 5], [120, 16, 5, 5], [84, 120], [10, 84]; LeNet-5 with C5 as a "
        "Linear(400, 120): [6, 1, 5, 5], [16, 6, 5, 5], [120, 400], [84, 120], [10, 84]; TinyCNN: [c1, 1, 3, 3], "
        "[c2, c1, 3, 3], [10, c2·49] (16/32 as a rule)")


@pytest.mark.parametrize("sd,layers", [
    ({}, ""), ({"0.weight": torch.ones(10, 1, 28, 28)}, "0.weight [10, 1, 28, 28]"),
    ({"0.weight": torch.ones(10, 784)}, "0.weight [10, 784]"),
    ({"a.weight": torch.ones(6, 1, 5, 5), "b.weight": torch.ones(10, 6 * 24 * 24)},
     "a.weight [6, 1, 5, 5], b.weight [10, 3456]"),
])
def test_networks_of_one_or_no_or_two_layers_fit_none_and_say_so(sd, layers):
    with pytest.raises(NotRecognised) as e:
        recognise.recognise(sd)
    assert str(e.value) == f"its layers ({layers}) fit none of the app's networks ({NEED})"


def test_a_running_mean_alone_is_batch_normalisation_too():
    sd = tiny_sd()
    sd["1.running_mean"] = torch.zeros(16)
    with pytest.raises(NotRecognised, match="^its tensors include batch normalisation"):
        recognise.recognise(sd)


def test_convolutions_that_both_could_come_next_are_named_together():
    sd = tiny_sd()
    sd["5.weight"], sd["5.bias"] = torch.ones(32, 16, 3, 3), torch.ones(32)
    with pytest.raises(NotRecognised) as e:
        recognise.recognise(sd)
    assert str(e.value) == ("its convolutions do not chain (3.weight [32, 16, 3, 3], 5.weight [32, 16, 3, 3] left "
                            "after 16 channels)")


def test_the_example_digits_are_the_ten_bundled_files_with_their_labels():
    from pathlib import Path

    from PIL import Image
    x, y = recognise.example_digits()
    files = sorted(Path(recognise.EXAMPLES).glob("*label*.png"))
    assert x.shape == (len(files), 1, 28, 28) and y.tolist() == [int(p.stem[-1]) for p in files]
    assert {Image.open(p).mode for p in files} == {"L"}
