"""Accessibility, measured: axe-core (axe-playwright-python) in Debian's Chromium over every
tab of the real app, with an empty canvas and with a digit on it, every accordion open, in
light mode and in dark mode (`?__theme=dark`). Prints the violations by impact per tab.

    python benchmarks/a11y.py
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from a11y import sweep  # noqa: E402
from browser import launch  # noqa: E402
from server import AppServer  # noqa: E402

IMPACTS = ("critical", "serious", "moderate", "minor")


def main():
    from playwright.sync_api import sync_playwright
    app = AppServer(tempfile.mkdtemp(), {"HF_HUB_OFFLINE": "1"})
    print("| theme | canvas | tab | " + " | ".join(IMPACTS) + " | rules (nodes) |")
    print("| --- | --- | --- | " + " | ".join("---:" for _ in IMPACTS) + " | --- |")
    try:
        with sync_playwright() as p:
            browser = launch(p)
            for theme, query in (("light", ""), ("dark", "?__theme=dark")):
                page = browser.new_page(viewport={"width": 1300, "height": 1000})
                for state, tab, found in sweep(page, app.url + query):
                    counts = [sum(n for _, n, _ in found.get(i, [])) for i in IMPACTS]
                    rules = ", ".join(f"{r} ({n})" for i in IMPACTS for r, n, _ in found.get(i, [])) or "–"
                    print(f"| {theme} | {state} | {tab} | " + " | ".join(map(str, counts)) + f" | {rules} |",
                          flush=True)
                page.close()
            browser.close()
    finally:
        app.close()


if __name__ == "__main__":
    main()
