"""Speed as the learner feels it, measured in Chromium (headless, Debian's, as the tests drive it)
against the real app on loopback: the page to a drawable canvas, and a stroke to its prediction
and to its maps. The times are taken in the page itself (performance.now(): the stroke's
pointer-up, the first change of the prediction, the first change of the maps), so the driver's
own overhead is not in them.

    python benchmarks/browser_speed.py [--strokes 20] [--loads 5] [--app OTHER_CHECKOUT/app.py]

`--app` measures another checkout's app (e.g. an older commit, `git worktree add /tmp/old <rev>`)
with the same driver, for a before/after on one machine.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from browser import launch, pen_digit  # noqa: E402
from server import AppServer  # noqa: E402

# in the page: when the stroke ended, and when the prediction and the maps first showed the
# stroke's answer. Gradio writes its own timer ("0.4s") into a component while an event runs,
# even with its progress hidden, so a change counts only when the app's own content changed:
# the prediction's text with a percentage in it, the flow's maps (`.cx-flow`; `.cx-stages` before the flow).
WATCH = """() => {
  const pred = () => { const t = document.querySelector('#prediction').textContent; return t.includes('%') ? t : ''; };
  const maps = () => document.querySelector('#stages .cx-flow, #stages .cx-stages')?.innerHTML || '';  // now; before
  window.__t = {};
  window.__base = () => { window.__t = {}; window.__p0 = pred(); window.__m0 = maps(); };
  const mark = (key, now, before) => () => {
    if (window.__t.up && !window.__t[key] && now() && now() !== before()) window.__t[key] = performance.now();
  };
  new MutationObserver(mark('pred', pred, () => window.__p0)).observe(document.querySelector('#prediction'),
                                             {childList: true, subtree: true, characterData: true});
  new MutationObserver(mark('maps', maps, () => window.__m0)).observe(document.querySelector('#stages'),
                                             {childList: true, subtree: true, characterData: true});
  document.addEventListener('pointerup', () => { window.__t.up = performance.now(); }, true);
}"""


def ms(values) -> str:
    return f"{statistics.median(values):.0f} ms (p90 {sorted(values)[int(0.9 * (len(values) - 1))]:.0f})"


def load_times(browser, url: str, n: int) -> list[float]:
    """Navigation to a canvas the brush can draw on (visible, the Brush tool armed)."""
    out = []
    for _ in range(n):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function("() => { const c = document.querySelector('#sketchpad canvas');"
                               " const b = document.querySelector('#sketchpad button[aria-label=\"Brush\"]');"
                               " return c && c.getBoundingClientRect().width > 0 && b; }", timeout=60_000)
        out.append((time.perf_counter() - t0) * 1e3)
        page.close()
    return out


def stroke_times(browser, url: str, n: int) -> tuple[list[float], list[float]]:
    """One straight stroke at a time on a cleared canvas (each a new drawing), its answer awaited."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url)
    page.locator("#sketchpad canvas").first.wait_for(state="visible", timeout=60_000)
    page.wait_for_timeout(4000)  # the page's own start-up events done
    page.evaluate(WATCH)
    pred, maps = [], []
    strokes = [pen_digit(d, 0)[0] for d in (1, 7, 4, 2, 3, 5, 6, 8, 9, 0)]
    box = page.locator("#sketchpad canvas").first.bounding_box()
    side = min(box["width"], box["height"])
    for i in range(n):
        page.locator('#sketchpad button[aria-label="Clear canvas"]').click()
        page.wait_for_timeout(1500)  # the blank canvas's own answer landed
        page.evaluate("() => window.__base()")
        pts = strokes[i % len(strokes)]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        span = max(max(xs) - min(xs), max(ys) - min(ys), 1)

        def at(p):
            return (box["x"] + box["width"] / 2 + (p[0] - (min(xs) + max(xs)) / 2) / span * side * 0.6,
                    box["y"] + box["height"] / 2 + (p[1] - (min(ys) + max(ys)) / 2) / span * side * 0.6)
        page.mouse.move(*at(pts[0]))
        page.mouse.down()
        for p in pts[1:]:
            page.mouse.move(*at(p))
        page.mouse.up()
        page.wait_for_function("() => window.__t.pred && window.__t.maps", timeout=30_000)
        t = page.evaluate("window.__t")
        pred.append(t["pred"] - t["up"])
        maps.append(t["maps"] - t["up"])
    page.close()
    return pred, maps


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--strokes", type=int, default=20)
    p.add_argument("--loads", type=int, default=5)
    p.add_argument("--app", type=Path, default=None, help="another checkout's app.py (before/after)")
    a = p.parse_args(argv)
    from playwright.sync_api import sync_playwright
    srv = AppServer(Path(tempfile.mkdtemp(prefix="browser-speed-")), script=a.app)
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            loads = load_times(browser, srv.url, a.loads)
            pred, maps = stroke_times(browser, srv.url, a.strokes)
            browser.close()
    finally:
        srv.close()
    print(f"app: {a.app or ROOT / 'app.py'}")
    print("| what | median (p90) | goal |\n|---|---|---|")
    print(f"| page to a drawable canvas ({a.loads} loads) | {ms(loads)} | ≤ 2500 ms |")
    print(f"| a stroke to its prediction ({a.strokes} strokes) | {ms(pred)} | ≤ 200 ms |")
    print(f"| a stroke to its maps | {ms(maps)} | ≤ 400 ms |")


if __name__ == "__main__":
    main()
