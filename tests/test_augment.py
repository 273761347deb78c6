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
