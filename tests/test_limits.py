"""Every bound in limits.py at its edge and one past it, with the sentence each refusal gives.
The test images of other modules are square, so a side bound checked by the pixel budget alone
went unnoticed: here the long thin images stand at exactly 4,096 px and at 4,097."""
import threading

import pytest

from cnn_demo import limits
from cnn_demo.limits import LimitError, check_image_size, check_training


@pytest.mark.parametrize("w,h", [(4096, 1), (1, 4096), (4096, 2929), (4000, 3000), (1, 1)])
def test_images_up_to_the_side_and_the_pixel_bound_are_read(w, h):
    assert 4096 * 2929 <= limits.UPLOAD_MAX_PIXELS  # the largest 4,096-px-wide image within the budget
    check_image_size(w, h, "PNG")  # no refusal


@pytest.mark.parametrize("w,h", [(4097, 1), (1, 4097), (4097, 4097)])
def test_a_long_thin_image_one_pixel_over_the_side_is_refused(w, h):
    with pytest.raises(LimitError) as e:
        check_image_size(w, h, "PNG")
    assert str(e.value) == (f"The image is {w}×{h} pixels; the app reads images up to 4096 pixels a side and 12 "
                            "megapixels (JPEG photos up to 50 megapixels): send a smaller picture.")


def test_one_pixel_over_the_pixel_budget_is_refused_with_both_sides_within_bounds():
    check_image_size(4000, 3000, "GIF")  # 12,000,000 exactly
    with pytest.raises(LimitError, match="4000×3001 pixels"):
        check_image_size(4000, 3001, "GIF")
    with pytest.raises(LimitError, match="3001×4000 pixels"):
        check_image_size(3001, 4000, None)


def test_jpeg_has_its_own_pixel_budget_and_no_side_bound():
    check_image_size(50_000, 1000, "JPEG")  # 50 MP exactly, and a side far over 4,096: decoded reduced
    check_image_size(10_000, 5000, "JPEG")
    with pytest.raises(LimitError) as e:
        check_image_size(50_001, 1000, "JPEG", what="The photo")
    assert str(e.value) == ("The photo is 50001×1000 pixels; JPEG photos may have at most 50 megapixels: send a "
                            "smaller picture of the digit.")
    with pytest.raises(LimitError, match="4097×1 pixels; the app reads"):
        check_image_size(4097, 1, "PNG")  # the same side in another format is refused


@pytest.mark.parametrize("w,h", [(0, 5), (5, 0), (0, 0), (-3, 5), (5, -1)])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_an_image_with_no_pixels_is_empty(w, h, fmt):
    with pytest.raises(LimitError) as e:
        check_image_size(w, h, fmt, what="The upload")
    assert str(e.value) == "The upload is empty (0 pixels)."


def _holds_a_slot(pixels: int) -> bool:
    """Whether decode_slot(pixels) waits for one of the DECODE_SLOTS while all are taken."""
    for _ in range(limits.DECODE_SLOTS):
        assert limits._decode_slots.acquire(timeout=5)
    entered = threading.Event()

    def decode():
        with limits.decode_slot(pixels):
            entered.set()
    t = threading.Thread(target=decode)
    t.start()
    try:
        waited = not entered.wait(0.3)
    finally:
        for _ in range(limits.DECODE_SLOTS):
            limits._decode_slots.release()
        t.join(5)
    assert entered.is_set() and not t.is_alive()  # it went through once the slots were free
    return waited


def test_decodes_from_the_large_bound_take_a_slot_and_smaller_ones_do_not():
    assert not _holds_a_slot(limits.LARGE_DECODE - 1)
    assert _holds_a_slot(limits.LARGE_DECODE)


def test_a_slot_is_given_back_when_the_decode_fails():
    for _ in range(3 * limits.DECODE_SLOTS):
        with pytest.raises(OSError):
            with limits.decode_slot(limits.LARGE_DECODE):
                raise OSError("truncated")
    for _ in range(limits.DECODE_SLOTS):  # every slot is free again
        assert limits._decode_slots.acquire(timeout=0.5)
    for _ in range(limits.DECODE_SLOTS):
        limits._decode_slots.release()


@pytest.mark.parametrize("epochs", [1, 50])
@pytest.mark.parametrize("batch", [16, 1024])
def test_epochs_and_batch_sizes_at_their_bounds_are_accepted(epochs, batch):
    check_training(epochs, batch, 100)


@pytest.mark.parametrize("epochs,batch,said", [
    (0, 64, "Epochs must be between 1 and 50, not 0."), (51, 64, "Epochs must be between 1 and 50, not 51."),
    (5, 15, "Batch size must be between 16 and 1024, not 15."),
    (5, 1025, "Batch size must be between 16 and 1024, not 1025."),
])
def test_epochs_and_batch_sizes_one_past_their_bounds_are_refused(epochs, batch, said):
    with pytest.raises(LimitError) as e:
        check_training(epochs, batch, 1000)
    assert str(e.value) == said


def test_training_images_between_100_and_what_there_is():
    check_training(1, 64, 100)
    check_training(1, 64, 60_000)
    check_training(1, 64, 512, available=512)
    for n, available in ((99, 60_000), (60_001, 60_000), (513, 512)):
        with pytest.raises(LimitError) as e:
            check_training(1, 64, n, available=available)
        assert str(e.value) == f"Training images must be between 100 and {available:,} (0 for all), not {n:,}."


def test_steps_are_counted_with_the_last_partial_batch():
    """16,001 images at batch 16 are 1,001 steps an epoch (the last one holds a single image):
    20 epochs are 20,020 steps, over the 20,000 bound; 16,000 images are 20,000 exactly."""
    check_training(20, 16, 16_000)
    with pytest.raises(LimitError) as e:
        check_training(20, 16, 16_001)
    assert str(e.value) == ("That run would take 20,020 steps; the app runs at most 20,000 (epochs × images ÷ "
                            "batch size): use fewer epochs or images, or a larger batch.")


def test_zero_training_images_means_all_of_them():
    check_training(5, 16, 0)  # 5 × 3,750 = 18,750 steps
    with pytest.raises(LimitError, match="22,500 steps"):
        check_training(6, 16, 0)  # 6 × 3,750
    with pytest.raises(LimitError, match="20,020 steps"):
        check_training(20, 16, 0, available=16_001)


@pytest.mark.parametrize("n,said", [(2**20, "1 MB"), (2**20 - 1, "1024 KB"), (1536, "2 KB"), (512 * 2**20, "512 MB"),
                                    (0, "0 KB")])
def test_megabytes(n, said):
    assert limits.megabytes(n) == said


def test_the_environment_widens_a_bound_and_a_typo_keeps_the_default(monkeypatch):
    monkeypatch.setenv("CNN_DEMO_TEST_BOUND", "7")
    assert limits._env("CNN_DEMO_TEST_BOUND", 3) == 7
    monkeypatch.setenv("CNN_DEMO_TEST_BOUND", "lots")
    assert limits._env("CNN_DEMO_TEST_BOUND", 3) == 3
    monkeypatch.delenv("CNN_DEMO_TEST_BOUND")
    assert limits._env("CNN_DEMO_TEST_BOUND", 3) == 3
