"""The checkpoints the app knows, by name: bundled, trained in the app, loaded from the Hub.

One name per checkpoint everywhere (Draw tab, /classify, Train tab, Hub loader). What does
not depend on the drawing (the filter mosaics, the layer table) is rendered once per
checkpoint and cached here.
"""
from __future__ import annotations

import os
import threading
from functools import cached_property
from pathlib import Path

from . import checkpoints, html_views, probe
from .checkpoints import Checkpoint, CheckpointError

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "checkpoints"
USER_ENV = "CNN_DEMO_CHECKPOINTS"


class UnknownCheckpoint(KeyError):
    def __str__(self):
        return self.args[0]


class Entry:
    """A loaded checkpoint plus its drawing-independent views, built on first use."""

    def __init__(self, ck: Checkpoint, source: str):
        self.ck, self.source = ck, source

    @cached_property
    def filters_html(self) -> str:
        return html_views.filters_html(probe.filters(self.ck.model))

    @cached_property
    def table_html(self) -> str:
        return html_views.layer_table_html(probe.layer_table(self.ck.model))


class Registry:
    def __init__(self, bundled: Path = BUNDLED, user_dir: Path | None = None):
        self.bundled = Path(bundled)
        self.user_dir = Path(user_dir or os.environ.get(USER_ENV) or ROOT / "runs")
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self.problems: list[str] = []  # checkpoints found on disk that could not be loaded

    def scan(self) -> "Registry":
        """Load every checkpoint folder found in the bundled and user folders."""
        for source, folder in (("bundled", self.bundled), ("saved", self.user_dir)):
            if not folder.is_dir():
                continue
            for sub in sorted(folder.iterdir()):
                if sub.is_dir() and not sub.name.startswith(".") and (sub / checkpoints.WEIGHTS).is_file():
                    try:
                        self.add(checkpoints.load(sub, name=sub.name), source)
                    except CheckpointError as e:
                        self.problems.append(f"{sub.name}: {e}")
        return self

    def add(self, ck: Checkpoint, source: str) -> Entry:
        entry = Entry(ck, source)
        with self._lock:
            self._entries[ck.name] = entry
        return entry

    def names(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def get(self, name: str) -> Entry:
        with self._lock:
            entry = self._entries.get(name)
        if entry is None:
            known = ", ".join(self.names()) or "none"
            raise UnknownCheckpoint(f"No checkpoint named {name!r}; the app knows: {known}.")
        return entry

    def choices(self) -> list[tuple[str, str]]:
        """(label, name) pairs for a dropdown."""
        with self._lock:
            return [(e.ck.title, n) for n, e in self._entries.items()]
