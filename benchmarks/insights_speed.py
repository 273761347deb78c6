"""The dataset views of a checkpoint: the one-off precomputation over the 10,000 test digits,
then each view's server time, and placing a new drawing in the embedding.

    python benchmarks/insights_speed.py [--data-dir ../shared/data/mnist] [--repeats 20]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
from timing import MODELS, bundled_model, start_table, timed, view_args  # noqa: E402
from cnn_demo import insights  # noqa: E402
from cnn_demo.views import insights as insights_view  # noqa: E402
from cnn_demo.data import load_mnist, to_float  # noqa: E402


def main(argv=None):
    a = view_args(__doc__, 20, argv)
    d = load_mnist(a.data_dir)
    tx, ty = d.raw("test"), d.labels("test")
    x1 = to_float(tx[:1])
    start_table("step")
    for name in MODELS:
        m = bundled_model(name)
        t0 = time.perf_counter()
        ins = insights.compute(m, tx, ty)
        print(f"| precompute over 10,000 test digits | {name} | {(time.perf_counter() - t0) * 1e3:.0f} | | ≤ 10000 |")
        layer = insights.conv_names(m)[-1]
        stage = [k.split("/", 1)[1] for k in ins.arrays if k.startswith("sig/")][0]
        vec = None
        for s_name, out in m.stages(x1):
            if s_name == stage:
                vec = out.detach().numpy().reshape(-1)
        point = insights.embed_point(ins, m, x1)
        rows = [
            (f"top examples of {layer} channel 3", lambda: insights_view.top_html(ins, m, layer, 3), 100),
            (f"class signatures at {stage}, with a drawing", lambda: insights_view.signatures_html(ins, stage, vec), 100),
            ("embedding table (2,000 points + the drawing)", lambda: insights_view.embedding_frame(ins, point), 100),
            ("confusion matrix", lambda: insights_view.confusion_frame(ins), 100),
            ("one confusion cell's errors", lambda: insights_view.errors_html(ins, 4, 9), 100),
            ("place a drawing in the embedding", lambda: insights.embed_point(ins, m, x1), 20),
            (f"feature visualisation of {layer} channel 3 (on demand)", lambda: insights.visualise(m, layer, 3), None),
        ]
        for label, fn, goal in rows:
            med, mx = timed(fn, a.repeats if goal else 3)
            print(f"| {label} | {name} | {med:.1f} | {mx:.1f} | {'≤ ' + str(goal) if goal else '—'} |")


if __name__ == "__main__":
    main()
