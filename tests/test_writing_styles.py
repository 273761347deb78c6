import numpy as np
import pytest

from cnn_demo import writing_styles
from cnn_demo.train import TrainConfig


def _first(mnist, label, n=12):
    y = mnist.train_y.numpy()
    return [mnist.train_x[i].numpy() for i in np.flatnonzero(y == label)[:n]]


def _added(mnist, label):
    """Where each digit's new stroke went: (ink added, ink before) at 112×112, per digit."""
    from PIL import Image
    out = []
    for k, img in enumerate(_first(mnist, label)):
        before = np.asarray(Image.fromarray(img).resize((112, 112), Image.Resampling.BILINEAR), np.float32) / 255
        after = writing_styles.add_style(img, label, np.random.default_rng(k))
        if after is None:  # a 1 leaning too far for a flag
            continue
        assert after.shape == (112, 112) and after.max() <= 1
        out.append((np.clip(after - before, 0, 1), before))
    assert len(out) >= 10  # the checks below are about most digits, not none
    return out


def _centre(ink):
    ys, xs = np.nonzero(ink > 0.5)
    return ys.mean(), xs.mean(), ys.min(), ys.max()


def test_a_seven_is_crossed_across_its_middle(mnist):
    for new, old in _added(mnist, 7):
        y, _, y0, y1 = _centre(new)
        _, _, top, bottom = _centre(old)
        assert top + 0.3 * (bottom - top) < y < top + 0.75 * (bottom - top)
        assert y1 - y0 < 0.35 * (bottom - top)  # a bar, not a new stem


def test_a_one_gets_a_flag_to_the_left_of_its_top(mnist):
    flags = 0
    for new, old in _added(mnist, 1):
        ys, xs = np.nonzero(new > 0.5)
        oys, oxs = np.nonzero(old > 0.5)
        flag = ys < oys.min() + 0.5 * (oys.max() - oys.min())  # a foot may come too
        if flag.sum() > 20:  # a 1 that has a flag already gets little more
            flags += 1
            assert xs[flag].mean() < oxs[oys < oys.min() + 8].mean()
    assert flags >= 10


def test_a_nine_curls_left_at_the_bottom(mnist):
    for new, old in _added(mnist, 9):
        y, x, _, _ = _centre(new)
        oy, ox, top, bottom = _centre(old)
        assert y > top + 0.7 * (bottom - top) and x < np.nonzero(old[bottom - 6:bottom + 1] > 0.5)[1].mean()


def test_a_share_of_ones_sevens_and_nines_is_styled_deterministically(mnist):
    x, y = mnist.train_x[:2000].numpy(), mnist.train_y[:2000].numpy()
    a, b = writing_styles.styled(x, y, 0.5, seed=3), writing_styles.styled(x, y, 0.5, seed=3)
    assert a.keys() == b.keys() and all(np.array_equal(a[i], b[i]) for i in a)
    assert set(y[list(a)]) == {1, 7, 9}
    n = np.isin(y, (1, 7, 9)).sum()
    assert 0.4 * n < len(a) < 0.6 * n
    img = next(iter(a.values()))
    assert img.dtype == np.uint8 and img.shape == (28, 28)
    assert writing_styles.styled(x, y, 0.0) == {}
    assert writing_styles.add_style(x[0], 5, np.random.default_rng()) is None  # a 5 keeps its shape


@pytest.mark.parametrize("kw,msg", [(dict(styles=2, drawn=0.5), "styled share"), (dict(styles=0.5), "drawn share too")])
def test_styles_are_bounded_and_need_the_drawn_share(kw, msg):
    with pytest.raises(ValueError, match=msg):
        TrainConfig.make("lenet5", 1, 64, hosted=False, **kw)
    with pytest.raises(ValueError):
        TrainConfig.make("lenet5", 1, 64, styles=0.5, drawn=0.5)  # command line only, like the drawn share
    assert TrainConfig.make("lenet5", 1, 64, styles=0.5, drawn=0.5, hosted=False).styles == 0.5


def test_training_sees_the_styled_digits(tiny_mnist_dir, tmp_path, monkeypatch):
    """The lever reaches the network: the same seeded run with and without it ends elsewhere."""
    import torch
    from cnn_demo.data import read_folder
    from cnn_demo.train import train
    monkeypatch.setattr("cnn_demo.data.DEFAULT_CACHE", tmp_path)
    data = read_folder(tiny_mnist_dir)
    runs = [train(TrainConfig(epochs=1, batch_size=256, drawn=1.0, styles=s), data, device="cpu").model.state_dict()
            for s in (0.0, 1.0, 1.0)]
    assert all(torch.equal(runs[1][k], runs[2][k]) for k in runs[1])
    assert not all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
