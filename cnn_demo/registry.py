"""The checkpoints the app knows, by name: bundled, trained in the app, loaded from the Hub.

One name per checkpoint everywhere (Draw tab, /classify, Train tab, Hub loader). The list
is shared by everyone using the app, so it only ever grows by new names and stays bounded:

- bundled checkpoints keep their names (reserved: nothing else may take them);
- a checkpoint trained in the app gets a new name, saved on disk, never overwritten; at most
  `MAX_SAVED_CHECKPOINTS` (and `SAVED_BUDGET` bytes) of them, then training is refused;
- a Hub checkpoint is named `hub:owner/repo[/subfolder]@commit`, so it can never take or
  shadow another's name; at most `MAX_HUB_CHECKPOINTS` stay loaded, the least recently
  used is dropped first (loading it again brings it back).

What does not depend on the drawing (filter mosaics, the layer table, the dataset views) is
computed once per checkpoint by whoever needs it and kept on its entry (`Entry.cached`), so
it goes when the entry goes. The registry keeps data; the views make HTML.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

from . import checkpoints
from .checkpoints import Checkpoint, CheckpointError
from .limits import MAX_HUB_CHECKPOINTS, MAX_SAVED_CHECKPOINTS, SAVED_BUDGET, LimitError, megabytes

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "checkpoints"
USER_ENV = "CNN_DEMO_CHECKPOINTS"
HUB_PREFIX = "hub:"


class UnknownCheckpoint(KeyError):
    def __str__(self):
        return self.args[0]


class Entry:
    """A loaded checkpoint, and what is computed once for it (its views' HTML, its dataset
    views, an intact test accuracy), kept with it so it goes when the entry goes."""

    def __init__(self, ck: Checkpoint, source: str):
        self.ck, self.source = ck, source
        self._cache: dict = {}
        self._lock = threading.Lock()

    def cached(self, key, make):
        """`make()` once per entry and key (the dataset views, an intact test accuracy, ...)."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]



def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class Registry:
    def __init__(self, bundled: Path = BUNDLED, user_dir: Path | None = None):
        self.bundled = Path(bundled)
        self.user_dir = Path(user_dir or os.environ.get(USER_ENV) or ROOT / "runs")
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: set[str] = set()  # names of runs under way
        self.problems: list[str] = []  # checkpoints found on disk that could not be loaded
        self.reserved = {p.name for p in self.bundled.iterdir() if p.is_dir()} if self.bundled.is_dir() else set()

    def scan(self) -> "Registry":
        """Load every checkpoint folder found in the bundled and user folders."""
        for source, folder in (("bundled", self.bundled), ("saved", self.user_dir)):
            if not folder.is_dir():
                continue
            for sub in sorted(folder.iterdir()):
                if sub.is_dir() and not sub.name.startswith(".") and (sub / checkpoints.WEIGHTS).is_file():
                    if source == "saved" and sub.name in self.reserved:
                        self.problems.append(f"{sub.name}: the name of a bundled checkpoint; not loaded.")
                        continue
                    try:
                        self.add(checkpoints.load(sub, name=sub.name), source)
                    except CheckpointError as e:
                        self.problems.append(f"{sub.name}: {e}")
        return self

    def add(self, ck: Checkpoint, source: str) -> Entry:
        """A new name only: a taken name is refused, except a Hub checkpoint loaded again (the
        same repo at the same commit: the same weights), which returns the entry it has."""
        with self._lock:
            old = self._entries.get(ck.name)
            if old is not None:
                if source == "hub" and old.source == "hub":
                    self._entries.move_to_end(ck.name)
                    return old
                raise CheckpointError(f"The app already has a checkpoint named {ck.name!r}; nothing is replaced.")
            if source != "bundled" and ck.name in self.reserved:
                raise CheckpointError(f"{ck.name!r} is the name of a bundled checkpoint; choose another.")
            if (source == "hub") != ck.name.startswith(HUB_PREFIX):
                raise CheckpointError(f"{ck.name!r}: only Hub checkpoints are named {HUB_PREFIX}….")
            entry = Entry(ck, source)
            self._entries[ck.name] = entry
            hub = [n for n, e in self._entries.items() if e.source == "hub"]
            for n in hub[:max(0, len(hub) - MAX_HUB_CHECKPOINTS)]:
                del self._entries[n]  # least recently used first
            return entry

    def names(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def get(self, name: str) -> Entry:
        if not isinstance(name, str):
            raise UnknownCheckpoint("A checkpoint is named by text, e.g. 'lenet5'.")
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None and entry.source == "hub":
                self._entries.move_to_end(name)
        if entry is None:
            known = ", ".join(self.names()) or "none"
            hint = " (Hub checkpoints not used for a while are dropped: load it again)" \
                if str(name).startswith(HUB_PREFIX) else ""
            raise UnknownCheckpoint(f"No checkpoint named {str(name)[:80]!r}{hint}; the app knows: {known}.")
        return entry

    def peek(self, name: str) -> Entry | None:
        """The entry of that name, or None, without counting as a use (a Hub checkpoint's place
        in the least-recently-used order stays as it is)."""
        with self._lock:
            return self._entries.get(name)

    def choices(self) -> list[tuple[str, str]]:
        """(label, name) pairs for a dropdown."""
        with self._lock:
            return [(e.ck.title, n) for n, e in self._entries.items()]

    # ---- names for new runs ---------------------------------------------------------------
    def claim(self, name: str, arch: str = "") -> str:
        """Reserve a name for a run about to start (its folder does not exist yet), after
        checking there is room on disk for one more; `release` gives it back. No name: the
        first free `my-<arch>-<n>`, found and reserved at once (two runs asked for together
        get two names)."""
        with self._lock:
            if not name:
                name = self._free_name(arch)
            name = checkpoints.check_name(name)
            if self._taken(name):
                raise CheckpointError(f"The app already has a checkpoint named {name!r}; choose another name.")
            self._check_room()
            self._pending.add(name)
        return name

    def _taken(self, name: str) -> bool:
        return name in self._entries or name in self._pending or name in self.reserved \
            or (self.user_dir / name).exists()

    def _free_name(self, arch: str) -> str:
        n = 1
        while self._taken(f"my-{arch}-{n}"):
            n += 1
        return f"my-{arch}-{n}"

    def release(self, name: str) -> None:
        with self._lock:
            self._pending.discard(name)

    def _check_room(self) -> None:
        saved = [p for p in self.user_dir.iterdir() if p.is_dir() and not p.name.startswith(".")] \
            if self.user_dir.is_dir() else []
        if len(saved) + len(self._pending) >= MAX_SAVED_CHECKPOINTS:
            raise LimitError(f"The app keeps at most {MAX_SAVED_CHECKPOINTS} trained checkpoints and has "
                             f"{len(saved)}: nothing saved is deleted, so no new run can start until its owner "
                             "removes some (or push yours to the Hub first).")
        used = sum(folder_bytes(p) for p in saved)
        if used >= SAVED_BUDGET:
            raise LimitError(f"Trained checkpoints use {megabytes(used)} of the app's {megabytes(SAVED_BUDGET)}: no "
                             "new run can start until its owner removes some.")
