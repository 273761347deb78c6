"""Would a larger TinyCNN read unseen writers better? TinyCNN's two 3×3 layers at other
widths, trained with the bundled recipe (`--augment --drawn 0.5`, 20 epochs, fp32)
by the app's own loop, then scored writer by writer on the pen-drawn development digits.
The experiment that made the bundled TinyCNN 32/64 wide (now `python -m cnn_demo.train
--widths 32 64`, `writer_recipes.py`'s w64 recipes, which gave the same figures as `--seed` here).

    OMP_NUM_THREADS=1 python benchmarks/wider_tinycnn.py --data-dir ../shared/data/mnist --widths 32 64 [--label-smoothing 0.1] [--seed 1]
"""
from __future__ import annotations

import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import pen_digits  # noqa: E402
from cnn_demo.data import load_mnist  # noqa: E402
from cnn_demo.models import TinyCNN  # noqa: E402


def main(argv=None):
    p = pen_digits.experiment_args(__doc__, arch=False)
    p.add_argument("--widths", type=int, nargs=2, default=[32, 64])
    p.add_argument("--label-smoothing", type=float, default=0.0)
    a = p.parse_args(argv)
    lead = {"widths": f"{a.widths[0]}/{a.widths[1]}", "label smoothing": f"{a.label_smoothing:g}", "seed": str(a.seed)}
    print(pen_digits.recipe_row("tinycnn", a, lambda: TinyCNN(widths=tuple(a.widths)), load_mnist(a.data_dir), lead,
                                label_smoothing=a.label_smoothing))

if __name__ == "__main__":
    main()
