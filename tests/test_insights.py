import numpy as np
import pytest
import torch

from cnn_demo import checkpoints, insights
from cnn_demo.data import to_float
from conftest import ROOT


@pytest.fixture(scope="module", params=["lenet5", "tinycnn"])
def model_and_insights(request, mnist):
    ck = checkpoints.load(ROOT / "checkpoints" / request.param)
    return ck, insights.compute(ck.model, mnist.raw("test"), mnist.labels("test"))


def test_top_examples_are_the_argmax_of_each_channel(model_and_insights, mnist):
    ck, ins = model_and_insights
    layer = insights.conv_names(ck.model)[-1]
    idx, act, pos = ins.top(layer)
    with torch.inference_mode():
        for name, out in ck.model.stages(to_float(mnist.raw("test"))):
            if name == layer:
                break
    for c in (0, 3, 5):
        m = out[:, c].flatten(1).max(1).values.numpy()
        assert set(idx[c]) == set(np.argsort(-m, kind="stable")[:9])
        np.testing.assert_allclose(act[c], np.sort(m)[::-1][:9], rtol=1e-5)
        r, col = pos[c, 0]
        assert out[idx[c, 0], c, r, col] == pytest.approx(act[c, 0], rel=1e-5)


def test_confusion_matrix_matches_the_recorded_accuracy(model_and_insights):
    ck, ins = model_and_insights
    conf = ins.arrays["confusion"]
    assert conf.sum() == 10_000
    assert conf.trace() / 10_000 == pytest.approx(ck.meta["test_accuracy"], abs=1e-4)
    assert len(ins.arrays["wrong/idx"]) == 10_000 - conf.trace()


def test_saved_with_the_checkpoint_and_matching(model_and_insights, tmp_path):
    ck, ins = model_and_insights
    insights.save(ins, tmp_path)
    back = insights.load(tmp_path)
    for k, v in ins.arrays.items():
        np.testing.assert_array_equal(back.arrays[k], v)
    bundled = insights.load(ROOT / "checkpoints" / ck.name)  # the tab works without MNIST
    assert bundled is not None
    np.testing.assert_array_equal(bundled.arrays["confusion"], ins.arrays["confusion"])


def test_embedding_places_a_test_digit_where_its_precomputed_point_is(model_and_insights, mnist):
    ck, ins = model_and_insights
    i = int(ins.arrays["embed/idx"][7])
    xy = insights.embed_point(ins, ck.model, to_float(mnist.raw("test")[i:i + 1]))
    np.testing.assert_allclose(xy, ins.arrays["embed/xy"][7], atol=1e-3)


def test_feature_visualisation_beats_the_test_set():
    ck = checkpoints.load(ROOT / "checkpoints" / "lenet5")
    ins = insights.load(ROOT / "checkpoints" / "lenet5")
    for layer, factor in (("C3", 1.0), ("C5", 1.5)):
        for c in range(4):
            img, a = insights.visualise(ck.model, layer, c)
            best = float(ins.arrays[f"max/{layer}"][c])
            assert 0 <= img.min() and img.max() <= 1
            assert a > (best * factor if best > 0 else best)


def test_embedding_frames_always_name_the_drawing_series(model_and_insights):
    """Gradio's plot keeps the series of its first frame: the drawing's series is there from the start."""
    from cnn_demo.views import insights as insights_view
    _, ins = model_and_insights
    before = insights_view.embedding_frame(ins, None)
    after = insights_view.embedding_frame(ins, np.array([0.5, -1.0]))
    assert set(before["digit"]) == set(after["digit"]) == {str(d) for d in range(10)} | {"your drawing"}
    assert before.iloc[-1][["x", "y"]].isna().all() and list(after.iloc[-1][["x", "y"]]) == [0.5, -1.0]


def test_an_insights_file_is_checked_before_and_after_reading(tmp_path):
    """A Hub repo's insights.safetensors (400 MB) was loaded unchecked and cached forever; one
    that does not fit its network broke the tab."""
    import shutil

    import pytest
    from safetensors.numpy import save_file

    from cnn_demo import checkpoints, insights
    from cnn_demo.checkpoints import CheckpointError
    from conftest import ROOT
    ck = checkpoints.load(ROOT / "checkpoints" / "lenet5")
    shutil.copyfile(ROOT / "checkpoints" / "lenet5" / insights.FILE, tmp_path / insights.FILE)
    assert insights.load(tmp_path, ck.model) is not None
    other = checkpoints.load(ROOT / "checkpoints" / "tinycnn")
    with pytest.raises(CheckpointError, match="does not fit this network"):
        insights.load(tmp_path, other.model)  # LeNet-5's views for a TinyCNN
    arrays = dict(insights.load(tmp_path).arrays)
    arrays["wrong/idx"] = arrays["wrong/idx"] + 100_000  # test digits it has no thumbnail of
    save_file(arrays, str(tmp_path / insights.FILE))
    with pytest.raises(CheckpointError, match="no thumbnail of"):
        insights.load(tmp_path, ck.model)
    (tmp_path / insights.FILE).write_bytes(b"\0" * (9 * 2**20))
    with pytest.raises(CheckpointError, match="is 9 MB; the app reads at most 8 MB"):
        insights.load(tmp_path, ck.model)
