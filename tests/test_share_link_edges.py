"""share_link's bounds at their edges and one past them, and the drawing's bitmap against a
reference worked out block by block with plain loops (not the code's reduceat)."""
import base64
import json
import zlib

import numpy as np
import pytest

from cnn_demo import share_link
from cnn_demo.share_link import LinkError, decode, encode, pack_drawing, unpack_drawing, whole


@pytest.mark.parametrize("v,got", [(0, 0), (9, 9), (5, 5), (-1, None), (10, None), (True, None), (False, None),
                                   (9.0, None), ("9", None), (None, None), ([9], None)])
def test_a_whole_number_is_read_between_its_bounds_inclusive(v, got):
    """A lesson's `"example": 9` names the bundled 9: the upper bound is a digit, not past one."""
    assert whole({"example": v}, "example", 0, 9) == got


def test_a_missing_whole_number_is_none():
    assert whole({}, "example", 0, 9) is None


@pytest.mark.parametrize("v,limit,got", [("x" * 200, 200, "x" * 200), ("x" * 201, 200, None), ("ab", 2, "ab"),
                                         ("abc", 2, None), ("", 200, None), (7, 200, None), (None, 200, None)])
def test_text_is_read_up_to_its_length_inclusive(v, limit, got):
    assert share_link.text({"k": v}, "k", limit=limit) == got


def test_text_by_its_default_length_and_its_choices():
    assert share_link.text({"k": "y" * 200}, "k") == "y" * 200 and share_link.text({"k": "y" * 201}, "k") is None
    assert share_link.text({"k": "why"}, "k", ("draw", "why")) == "why"
    assert share_link.text({"k": "wh"}, "k", ("draw", "why")) is None


def _blocks_by_hand(img, side):
    """Ink bits of each block, by loops: block (i, j) covers rows ⌊i·h/side⌋ … ⌊(i+1)·h/side⌋ − 1."""
    h, w = img.shape
    bits = np.zeros((side, side), bool)
    for i in range(side):
        for j in range(side):
            r0, r1 = i * h // side, (i + 1) * h // side
            c0, c1 = j * w // side, (j + 1) * w // side
            bits[i, j] = any(img[r, c] < 128 for r in range(r0, r1) for c in range(c0, c1))
    return bits


@pytest.mark.parametrize("shape", [(400, 400), (403, 397), (100, 100)])
def test_a_drawing_packs_to_its_blocks_ink_worked_out_by_hand(shape):
    rng = np.random.default_rng(sum(shape))
    img = np.full(shape, 255, np.uint8)
    img[rng.random(shape) < 0.002] = 0  # isolated dark pixels: one is enough to ink its block
    img[rng.random(shape) < 0.002] = 127  # just dark enough to be ink
    img[rng.random(shape) < 0.01] = 128  # just too light
    bits = _blocks_by_hand(img, 100)
    back = unpack_drawing(pack_drawing(img))
    assert back.shape == (400, 400) and back.dtype == np.uint8
    ref = np.where(np.kron(bits, np.ones((4, 4), int)) > 0, 0, 255)
    assert np.array_equal(back, ref)
    assert 0 < bits.sum() < bits.size


def test_a_pixel_at_the_ink_level_is_paper():
    img = np.full((400, 400), 255, np.uint8)
    img[0, 0], img[399, 399] = share_link.INK, share_link.INK - 1
    back = unpack_drawing(pack_drawing(img))
    assert back[:4, :4].min() == 255 and (back[396:, 396:] == 0).all() and (back == 0).sum() == 16


@pytest.mark.parametrize("img", [np.zeros(5), np.zeros((0, 5)), np.zeros((5, 0)), np.zeros((2, 2, 2))])
def test_what_is_not_a_drawing_gets_a_sentence(img):
    with pytest.raises(LinkError) as e:
        pack_drawing(img)
    assert str(e.value) == "The drawing is not an image."


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1)])
def test_a_drawing_one_pixel_high_or_wide_is_still_a_drawing(shape):
    assert (unpack_drawing(pack_drawing(np.zeros(shape, np.uint8))) == 0).all()  # its one dark row inks every block
    assert (unpack_drawing(pack_drawing(np.full(shape, 255, np.uint8))) == 255).all()


def _drawing_token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


@pytest.mark.parametrize("n,said", [(1249, "wrong size"), (1251, "wrong size"), (1252, "more than 1,251 bytes")])
def test_a_drawing_of_the_wrong_size_by_one_byte_gets_a_sentence(n, said):
    unpack_drawing(_drawing_token(bytes(1250)))  # 100 × 100 bits exactly
    with pytest.raises(LinkError, match=said):
        unpack_drawing(_drawing_token(bytes(n)))


def _view_token(n: int) -> str:
    body = ('{"a":"' + "x" * (n - 8) + '"}').encode()
    assert len(body) == n
    return "1." + base64.urlsafe_b64encode(zlib.compress(body, 9)).decode().rstrip("=")


def test_a_view_of_exactly_the_json_bound_is_read_and_one_byte_more_is_refused():
    assert len(decode(_view_token(share_link.MAX_JSON))["a"]) == share_link.MAX_JSON - 8
    with pytest.raises(LinkError) as e:
        decode(_view_token(share_link.MAX_JSON + 1))
    assert str(e.value) == "The link's view unpacks to more than 65,536 bytes; this app's links never do."


def test_a_link_of_exactly_the_length_bound_is_read_as_a_link_and_one_character_more_is_refused():
    with pytest.raises(LinkError) as e:
        decode("1." + "A" * (share_link.MAX_LINK - 2))  # 4,096 characters: read, and found damaged
    assert "damaged" in str(e.value)
    with pytest.raises(LinkError) as e:
        decode("1." + "A" * (share_link.MAX_LINK - 1))
    assert str(e.value) == "The link is 4,097 characters long; links this app makes hold at most 4,096."


def test_a_view_too_large_for_a_link_is_refused_when_made():
    noise = base64.b64encode(np.random.default_rng(0).bytes(4000)).decode()  # does not compress
    with pytest.raises(LinkError, match=r"This view makes a link of [\d,]+ characters; links hold at most 4,096\."):
        encode({"x": noise})
    small = encode({"x": noise[:1000]})
    assert decode(small) == {"x": noise[:1000]}


def test_encode_writes_compact_sorted_json():
    token = encode({"b": 1, "a": [1, 2]})
    version, _, body = token.partition(".")
    raw = zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert version == "1" and raw == b'{"a":[1,2],"b":1}'


def _by_hand(state: dict) -> str:
    body = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return "1." + base64.urlsafe_b64encode(zlib.compress(body, 9)).decode().rstrip("=")


def test_encode_is_the_level_9_zlib_of_the_json_in_unpadded_base64url():
    for state in ({"tab": "draw"}, {"n": 12345, "s": "é" * 10}, {"a": list(range(50))}):
        assert encode(state) == _by_hand(state) and decode(encode(state)) == state


def test_a_token_ending_in_x_keeps_it():
    """Only base64's '=' padding is stripped: 'X' is one of its digits."""
    state = next({"n": i} for i in range(10_000) if _by_hand({"n": i}).endswith("X"))
    assert encode(state).endswith("X") and decode(encode(state)) == state


def test_a_view_making_a_link_of_exactly_4096_characters_is_made_and_4097_is_refused():
    noise = base64.b64encode(np.random.default_rng(1).bytes(6000)).decode()
    sizes = {len(_by_hand({"x": noise[:n]})): n for n in range(3700, 4300)}
    edge, over = {"x": noise[:sizes[4096]]}, {"x": noise[:sizes[4097]]}
    assert len(encode(edge)) == 4096 and decode(encode(edge)) == edge
    with pytest.raises(LinkError, match="^This view makes a link of 4,097 characters; links hold at most 4,096.$"):
        encode(over)


@pytest.mark.parametrize("token,said", [
    ("", "The link holds no view."), (None, "The link holds no view."),
    ("2.abc", "The link was made by another version of this app, or it was cut short; make it again."),
    ("1.", "The link was made by another version of this app, or it was cut short; make it again."),
    ("1.AAAA.AAAA", "The link is damaged: its view cannot be read. Ask for it again."),
    ("1." + base64.urlsafe_b64encode(zlib.compress(b"{not json")).decode(),
     "The link is damaged: its view cannot be read. Ask for it again."),
    ("1." + base64.urlsafe_b64encode(zlib.compress(b"[1, 2]")).decode(),
     "The link is damaged: its view cannot be read. Ask for it again."),
    ("1." + base64.urlsafe_b64encode(b"not zlib").decode(), "The link is damaged: its view cannot be read. Ask for it again."),
])
def test_each_broken_link_gets_its_exact_sentence(token, said):
    with pytest.raises(LinkError) as e:
        decode(token)
    assert str(e.value) == said


def _token_by_hand(img: np.ndarray) -> str:
    """A 400×400 canvas: 4×4 blocks by reshaping, packed and compressed at level 9, '=' dropped."""
    bits = img.reshape(100, 4, 100, 4).min((1, 3)) < 128
    return base64.urlsafe_b64encode(zlib.compress(np.packbits(bits).tobytes(), 9)).decode().rstrip("=")


def test_a_drawings_token_is_worked_out_by_hand_with_no_padding_and_a_final_x_kept():
    rng = np.random.default_rng(7)
    endings = set()
    for _ in range(400):
        img = np.where(rng.random((400, 400)) < 0.001, 0, 255).astype(np.uint8)
        want = _token_by_hand(img)
        assert pack_drawing(img) == want and "=" not in want
        endings.add(want[-1])
        if want.endswith("X"):
            break
    assert "X" in endings  # a token whose last base64 digit is X was among them


@pytest.mark.parametrize("token,said", [
    ("!!!", "The link is damaged: its drawing cannot be read. Ask for it again."),
    (_drawing_token(bytes(1249)), "The link's drawing is damaged (it has the wrong size)."),
    (_drawing_token(bytes(5000)), "The link's drawing unpacks to more than 1,251 bytes; this app's links never do."),
])
def test_each_broken_drawing_gets_its_exact_sentence(token, said):
    with pytest.raises(LinkError) as e:
        unpack_drawing(token)
    assert str(e.value) == said
