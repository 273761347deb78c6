"""The Space's own files: the README's front matter as Hugging Face documents it (the Spaces
configuration reference), for a Space that runs on ZeroGPU, and requirements it can install."""
import ast
import importlib.metadata as md
import re

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from conftest import ROOT

# the keys the Spaces configuration reference lists (huggingface.co/docs/hub/spaces-config-reference)
DOCUMENTED = {"title", "emoji", "colorFrom", "colorTo", "sdk", "python_version", "sdk_version",
              "suggested_hardware", "suggested_storage", "app_file", "app_port", "base_path", "fullWidth",
              "header", "short_description", "models", "datasets", "tags", "thumbnail", "pinned", "hf_oauth",
              "hf_oauth_scopes", "hf_oauth_expiration_minutes", "hf_oauth_authorized_org", "disable_embedding",
              "startup_duration_timeout", "custom_headers", "preload_from_hub", "license"}
COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
ZERO_GPU_PYTHONS = {"3.10": "3.10.13", "3.12": "3.12.12"}  # the only builds ZeroGPU runs (its docs)


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text[4:text.index("\n---\n", 4)])


def pins() -> dict:
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            out[req.name.lower()] = req
    return out


def test_the_front_matter_has_only_documented_keys_and_values():
    fm = front_matter()
    assert set(fm) <= DOCUMENTED, set(fm) - DOCUMENTED
    assert fm["sdk"] == "gradio" and (ROOT / fm["app_file"]).is_file()
    assert fm["colorFrom"] in COLOURS and fm["colorTo"] in COLOURS
    assert len(fm["short_description"]) <= 60  # the Hub refuses longer ones


def test_it_asks_for_zerogpu_on_a_python_zerogpu_runs():
    from huggingface_hub import SpaceHardware
    fm = front_matter()
    assert fm["suggested_hardware"] == "zero-a10g" and fm["suggested_hardware"] in {h.value for h in SpaceHardware}
    assert isinstance(fm["python_version"], str) and fm["python_version"] in ZERO_GPU_PYTHONS


def test_every_pin_installs_on_that_python():
    """Each pinned package's own Requires-Python admits ZeroGPU's build of the chosen Python
    (numpy 2.4 needs 3.11 or newer: on 3.10 the Space would not build)."""
    python = ZERO_GPU_PYTHONS[front_matter()["python_version"]]
    for name, req in pins().items():
        assert req.specifier.contains(md.version(name)), (name, "the tests run another version")
        spec = md.metadata(name).get("Requires-Python")
        assert not spec or SpecifierSet(spec).contains(python), (name, spec)


def test_the_pins_are_what_the_space_runs():
    """The Space installs gradio at `sdk_version`, then requirements.txt: the two must agree with
    each other and with what the tests run; torch must be a version ZeroGPU supports (2.1.0 and
    later, 2.3.x excepted); `spaces` is pinned, since the app's ZeroGPU paths are tested against it."""
    fm, p = front_matter(), pins()
    assert str(fm["sdk_version"]) == md.version("gradio") and p["gradio"].specifier.contains(md.version("gradio"))
    torch = Version(next(iter(p["torch"].specifier)).version)
    assert torch >= Version("2.1.0") and (torch.major, torch.minor) != (2, 3)
    assert p["spaces"].specifier.contains(md.version("spaces"))


def test_spaces_is_imported_before_torch():
    """On ZeroGPU `spaces` must patch torch before anything imports it (its own check raises
    otherwise)."""
    tree = ast.parse((ROOT / front_matter()["app_file"]).read_text())
    first = next(n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
    assert isinstance(first, ast.Import) and first.names[0].name == "spaces"


def test_the_readme_says_how_to_deploy_and_what_a_run_costs():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Deploy it as a Space"):]
    section = section[:section.index("\n## ", 4)]
    for needed in ("ZeroGPU", "HF_TOKEN", "hf upload", "CNN_DEMO_CHECKPOINTS", "quota"):
        assert needed in section, needed
    from cnn_demo.serve.gpu import gpu_seconds
    from cnn_demo.train import TrainConfig
    from cnn_demo.ui.train_tab import DEFAULTS
    first = TrainConfig.make(**DEFAULTS)  # the Train tab as it opens
    row = next(r for r in section.splitlines() if r.startswith("| the Train tab as it opens"))
    assert f"{DEFAULTS['epochs']} epoch of {DEFAULTS['train_size']:,} digits, batch {DEFAULTS['batch_size']})" in row
    assert re.search(rf"\b{gpu_seconds(first)} s\b", row)  # the figure it gives is the app's own
