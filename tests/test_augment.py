import torch

from cnn_demo.augment import augment, random_thickness


def test_augment_is_seeded_bounded_and_changes_most_images(mnist):
    x = mnist.images("train")[:64]
    a = augment(x, torch.Generator().manual_seed(0))
    b = augment(x, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == x.shape
    assert a.min() >= 0 and a.max() <= 1
    changed = ((a - x).abs().flatten(1).max(1).values > 0.05).float().mean()
    assert 0.4 < changed < 0.85  # p=0.6 of the batch is distorted, the rest kept as is
    assert torch.equal(augment(x, torch.Generator().manual_seed(0), p=0.0), x)


def test_thickness_changes_ink_amount(mnist):
    x = mnist.images("train")[:256]
    out = random_thickness(x, torch.Generator().manual_seed(1), p_thick=1.0, p_thin=0.0)
    assert (out.sum((1, 2, 3)) > x.sum((1, 2, 3))).all()
    out = random_thickness(x, torch.Generator().manual_seed(1), p_thick=0.0, p_thin=1.0)
    assert (out.sum((1, 2, 3)) < x.sum((1, 2, 3))).all()


def test_elastic_moves_pixels_a_little_and_smoothly(mnist):
    from cnn_demo.augment import elastic
    x = mnist.images("train")[:128]
    g = torch.Generator().manual_seed(0)
    assert torch.allclose(elastic(x, g, alpha=0.0), x, atol=1e-5)  # no displacement: the same digits
    out = elastic(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.equal(out, elastic(x, torch.Generator().manual_seed(0)))
    # a warp moves ink, it does not make or lose much of it
    ink, moved = x.sum((1, 2, 3)), out.sum((1, 2, 3))
    assert ((moved - ink).abs() / ink).median() < 0.15
    assert ((out - x).abs().flatten(1).max(1).values > 0.3).float().mean() > 0.9
    # and more so the stronger it is
    weak = (elastic(x, torch.Generator().manual_seed(0), alpha=8) - x).abs().mean()
    assert weak < (out - x).abs().mean()


def test_augment_with_warp_stays_in_range(mnist):
    x = mnist.images("train")[:64]
    a = augment(x, torch.Generator().manual_seed(0), warp=34)
    assert a.min() >= 0 and a.max() <= 1 and not torch.equal(a, augment(x, torch.Generator().manual_seed(0)))
