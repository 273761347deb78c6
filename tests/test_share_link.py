"""Links that hold a view: short, faithful to the drawing, and refused with a sentence when
broken or tampered with."""
import base64
import json
import zlib

import numpy as np
import pytest
import torch

from conftest import ROOT
from cnn_demo import checkpoints, share_link, strokes
from cnn_demo.preprocess import preprocess
from cnn_demo.share_link import LinkError, decode, encode, pack_drawing, unpack_drawing

PEN = ROOT.parent / "shared" / "data" / "pendigits-dev" / "strokes.json"


@pytest.fixture(scope="module")
def drawings():
    digits = json.loads(PEN.read_text())[::5]  # 200 real pen-drawn digits, every writer
    rng = np.random.default_rng(1)
    return [strokes.render(strokes.random_placement(d["strokes"], rng)) for d in digits]


def test_a_drawing_survives_the_link_and_reads_the_same(drawings):
    model = checkpoints.load(ROOT / "checkpoints" / "lenet5").model
    sizes, same, moved = [], 0, []
    with torch.inference_mode():
        for img in drawings:
            token = pack_drawing(img)
            sizes.append(len(token))
            back = unpack_drawing(token)
            assert back.shape == img.shape and back.dtype == np.uint8 and set(np.unique(back)) <= {0, 255}
            # every ink pixel of the drawing is ink in the link's block
            assert (back[img < share_link.INK] == 0).all()
            p = torch.softmax(model(preprocess(img, paper="light").tensor()), 1)[0]
            q = torch.softmax(model(preprocess(back, paper="light").tensor()), 1)[0]
            same += int(p.argmax() == q.argmax())
            moved.append(float((p - q).abs().max()))
    assert same >= 0.99 * len(drawings), same
    assert np.median(moved) < 0.01, np.median(moved)
    assert max(sizes) < 700, max(sizes)  # a few hundred characters


def test_a_view_round_trips_and_stays_short(drawings):
    state = {"tab": "draw", "model": "lenet5+tinycnn", "ink": pack_drawing(drawings[0]),
             "unit": {"stage": "C3", "ch": 5, "r": 2, "c": 3}, "why": {"cls": 7, "layer": "C3"}}
    token = encode(state)
    assert token.startswith("1.") and decode(token) == state and len(token) < 900
    assert all(c.isalnum() or c in "-_." for c in token)  # safe in a URL as it is


def _token(payload: bytes) -> str:
    return "1." + base64.urlsafe_b64encode(zlib.compress(payload)).decode().rstrip("=")


@pytest.mark.parametrize("token,said", [
    ("", "holds no view"), (None, "holds no view"), (17, "holds no view"),
    ("x" * 5000, "at most 4,096"), ("2.abc", "another version"), ("1.", "another version"),
    ("nodot", "another version"), ("1.!!!not-base64!!!", "damaged"), ("1.AAAA", "damaged"),
    (_token(b"[1, 2, 3]"), "damaged"), (_token(b"{not json"), "damaged"), (_token(b"\xff\xfe"), "damaged"),
    (_token(b" " * 2_000_000), "more than 65,536 bytes"),  # a zlib bomb: 2 MB from a 2.6 KB link
])
def test_broken_or_tampered_links_get_a_sentence(token, said):
    with pytest.raises(LinkError, match=said):
        decode(token)


@pytest.mark.parametrize("token,said", [
    ("!!!", "cannot be read"), (base64.urlsafe_b64encode(zlib.compress(b"\x00" * 10)).decode(), "wrong size"),
    (base64.urlsafe_b64encode(zlib.compress(b"\x00" * 100_000)).decode(), "more than"),
])
def test_a_tampered_drawing_gets_a_sentence(token, said):
    with pytest.raises(LinkError, match=said):
        unpack_drawing(token)


def test_fields_are_read_with_their_type_and_range():
    s = {"tab": "why", "bad": "x" * 300, "n": 5, "flag": True, "neg": -1}
    assert share_link.text(s, "tab", {"draw", "why"}) == "why"
    assert share_link.text(s, "tab", {"draw"}) is None and share_link.text(s, "bad") is None
    assert share_link.whole(s, "n", 0, 9) == 5 and share_link.whole(s, "n", 0, 4) is None
    assert share_link.whole(s, "flag", 0, 9) is None and share_link.whole(s, "neg", 0, 9) is None
