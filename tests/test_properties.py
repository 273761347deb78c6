"""Property-based: no input crashes the preprocessing or the playground. Each either
answers or raises its own error type with a message (never anything else). Each test
counts the inputs it tried and says so (`pytest -s`); none depends on another."""
import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cnn_demo import playground as pg
from cnn_demo.preprocess import InputError, preprocess, read_image

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

images = st.one_of(
    arrays(np.uint8, st.tuples(st.integers(1, 64), st.integers(1, 64))),
    arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 2, 3, 4]))),
    arrays(np.float32, st.tuples(st.integers(1, 40), st.integers(1, 40)),
           elements=st.floats(allow_nan=True, allow_infinity=True, width=32)),
    arrays(np.uint16, st.tuples(st.integers(1, 30), st.integers(1, 30))),
)


def report(name, n):
    print(f"\n{name}: {n} generated inputs, none crashed")
    assert n >= 100


def test_preprocess_answers_or_explains():
    n = [0]

    @SETTINGS
    @given(img=images, paper=st.sampled_from(["auto", "light", "dark"]))
    def prop(img, paper):
        n[0] += 1
        try:
            out = preprocess(img, paper=paper)
        except InputError as e:
            assert str(e)
            return
        assert out.image.shape == (28, 28) and np.isfinite(out.image).all()
        assert 0 <= out.image.min() and out.image.max() <= 1
    prop()
    report("preprocess", n[0])


def test_read_image_of_any_bytes():
    n = [0]

    @SETTINGS
    @given(data=st.binary(max_size=2000), mode=st.sampled_from(["L", "RGB", "RGBA", "P", "I;16", "1"]),
           cut=st.floats(0, 1))
    def prop(data, mode, cut):
        n[0] += 1
        buf = io.BytesIO()
        from PIL import Image
        Image.new(mode, (7, 5)).save(buf, format="PNG")
        raw = buf.getvalue()
        for blob in (data, raw[: int(len(raw) * cut)], raw[:8] + data):
            try:
                read_image(blob)
            except InputError as e:
                assert str(e)
    prop()
    report("read_image", n[0])


kernel_vals = st.floats(allow_nan=True, allow_infinity=True, width=32)
kernels = st.lists(arrays(np.float32, st.tuples(st.integers(0, 13), st.integers(0, 13)), elements=kernel_vals),
                   min_size=0, max_size=3)


def test_playground_answers_or_explains():
    n = [0]

    @SETTINGS
    @given(img=arrays(np.float32, st.tuples(st.integers(1, 24), st.integers(1, 24)),
                      elements=st.floats(0, 1, width=32)),
           ks=kernels, padding=st.one_of(st.sampled_from(["same", "valid", "", "x", "-1"]), st.integers(-3, 70)),
           stride=st.one_of(st.integers(-2, 70), st.floats(allow_nan=True), st.just("a")),
           dilation=st.integers(-1, 20), mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
           act=st.sampled_from(["none", "relu", "leaky_relu", "tanh"]), slope=st.floats(allow_nan=True),
           pooling=st.sampled_from(["none", "max", "avg", "min"]), pk=st.integers(-1, 40), ps=st.integers(-1, 40))
    def prop(img, ks, padding, stride, dilation, mode, act, slope, pooling, pk, ps):
        n[0] += 1
        try:
            r = pg.chain(img, list(ks), padding, stride, dilation, mode, act, slope, pooling, pk, ps)
        except pg.PlaygroundError as e:
            assert str(e)
            return
        assert r.final.ndim == 3 and np.isfinite(r.final).all()
    prop()
    report("playground chain", n[0])
