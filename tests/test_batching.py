import threading

import numpy as np
import torch

from cnn_demo.batching import MicroBatcher
from cnn_demo.models import build
from cnn_demo.probe import probe


def test_batched_results_equal_single_passes():
    torch.manual_seed(0)
    models = [build("lenet5").eval(), build("tinycnn").eval()]
    xs = [torch.rand(1, 1, 28, 28) for _ in range(24)]
    b = MicroBatcher(max_batch=8, max_wait=0.05)
    out = [None] * len(xs)

    def ask(i):
        out[i] = b.probe(models[i % 2], xs[i])
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert b.items == 24 and b.batches < 24  # some requests really were served together
    for i, (stages, probs) in enumerate(out):
        ref_stages, ref_probs = probe(models[i % 2], xs[i])
        np.testing.assert_allclose(probs, ref_probs, atol=1e-5)
        assert [s.name for s in stages] == [s.name for s in ref_stages]
        np.testing.assert_allclose(stages[0].output, ref_stages[0].output, atol=1e-5)


def test_an_error_reaches_every_waiting_request():
    b = MicroBatcher()
    try:
        b.probe(build("lenet5").eval(), torch.rand(1, 3, 28, 28))  # wrong channel count
    except RuntimeError:
        pass
    else:
        raise AssertionError("expected the forward pass to fail")
    stages, probs = b.probe(build("lenet5").eval(), torch.rand(1, 1, 28, 28))  # and it keeps serving
    assert probs.shape == (1, 10)
