"""/convolve through a real server and gradio_client, against scipy."""
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image
from scipy import signal

from cnn_demo.playground import PRESETS


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def gray_png(tmp_path_factory):
    rng = np.random.default_rng(0)
    a = (rng.random((13, 17)) * 255).round().astype(np.uint8)
    p = tmp_path_factory.mktemp("img") / "g.png"
    Image.fromarray(a).save(p)
    return p, a.astype(np.float64) / 255


def test_convolve_valid_matches_scipy(client, gray_png):
    path, a = gray_png
    k = [[1, 2, 0], [0, -1, 3]]
    r = client.predict(image=handle_file(str(path)), kernels=[k], padding="valid", api_name="/convolve")
    assert r["shape"] == [1, 12, 15]
    np.testing.assert_allclose(np.array(r["channels"][0]), signal.correlate2d(a, np.array(k), "valid"), atol=1e-4)


def test_convolve_full_chain_with_keywords(client, gray_png):
    path, a = gray_png
    sob = PRESETS["Sobel x"][0].tolist()
    r = client.predict(image=handle_file(str(path)), kernels=[sob, sob], padding=1, stride=2,
                       activation="leaky_relu", slope=0.1, pooling="max", pool_kernel=2, pool_stride=2,
                       api_name="/convolve")
    conv = signal.correlate2d(np.pad(a, 1), np.array(sob), "valid")[::2, ::2]
    act = np.where(conv > 0, conv, 0.1 * conv)
    h, w = act.shape[0] // 2 * 2, act.shape[1] // 2 * 2
    pooled = act[:h, :w].reshape(h // 2, 2, w // 2, 2).max((1, 3))
    assert r["shape"] == [2, *pooled.shape]
    np.testing.assert_allclose(np.array(r["channels"][1]), pooled, atol=1e-4)


def test_rgb_kernel_takes_one_slice_per_channel(client, tmp_path):
    rng = np.random.default_rng(1)
    rgb = (rng.random((9, 9, 3)) * 255).round().astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    k = rng.normal(size=(3, 3, 3)).round(2)
    r = client.predict(image=handle_file(str(tmp_path / "c.png")), kernels=[k.tolist()], padding="valid",
                       api_name="/convolve")
    ref = sum(signal.correlate2d(rgb[..., c] / 255, k[c], "valid") for c in range(3))
    np.testing.assert_allclose(np.array(r["channels"][0]), ref, atol=1e-4)


@pytest.mark.parametrize("kw,msg", [
    (dict(kernels=[[[1, 0], [0, float("nan")]]]), "NaN or infinity|not valid JSON|Out of range"),
    (dict(kernels=[[[1] * 12] * 12]), "largest allowed is 11×11"),
    (dict(kernels=[[[1]]], stride=0), "Stride must be between 1"),
    (dict(kernels=[[[1] * 9] * 9], padding="valid"), "kernel spans 9×9"),
    (dict(kernels=[]), "at least one kernel"),
])
def test_bad_requests_get_clear_errors(client, tmp_path, kw, msg):
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "s.png")
    with pytest.raises(Exception, match=msg):
        client.predict(image=handle_file(str(tmp_path / "s.png")), api_name="/convolve", **kw)


def test_paths_outside_the_upload_cache_are_refused(app_url):
    """A hand-made request naming a server path (no upload) must not read that file."""
    import httpx
    fd = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
    with httpx.Client(timeout=30) as c:
        r = c.post(f"{app_url}gradio_api/call/convolve", json={"data": [fd, [[[1]]]]})
        assert r.status_code == 200
        events = c.get(f"{app_url}gradio_api/call/convolve/{r.json()['event_id']}").text
    assert "event: error" in events and "root:" not in events
