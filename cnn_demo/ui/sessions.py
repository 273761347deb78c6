"""Cheap sessions: Gradio's per-session copy of every component's config, made lazily.

Gradio gives every session — every browser tab, and every API call made without a
`session_hash`, as `curl` makes them — a `SessionState`, whose constructor computes the
config of every component of the app (208 here): ~18 ms of the server's one GIL and
~320 KB per session, kept for up to `state_session_capacity` sessions. That made a
sessionless `/classify` cost 16 ms more than its work and 10,000 of them hold 3.5 GB.

Those configs are read only when a session's own components change (an output updates a
component) or for a deep link; so here they are computed per component on first use, and
all of them only when all are asked for. Installed by `install()`, which replaces the class
Gradio's `StateHolder` makes sessions with; `tests/test_sessions.py` checks that it still
makes the same object as Gradio's (so a Gradio upgrade that changes it is caught), and the
number of sessions kept is bounded by `launch(state_session_capacity=limits.SESSIONS)`.

Gradio's queue also keeps, per session, a queue of messages for its result stream — for
the 2,000 most recently *created* sessions — and a set of pending event ids — for every
session ever seen. A flood of sessionless calls then pushed out the message queue of a
learner whose drawing was in flight (its result was lost: a KeyError in the server's
output), and the sets grew without end. `protect_queues` replaces both with `RecentlyUsed`:
the most recently *used* sessions are kept (an open stream uses its queue at least every
10 s), never one with messages or events pending, and no more than `limits.SESSIONS` × 10.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from copy import copy

from gradio import state_holder

from ..limits import SESSIONS

_GradioSessionState = state_holder.SessionState


class LazyConfigs(dict):
    """config_values whose entries are computed when first read."""

    def __init__(self, blocks_config, ids):
        super().__init__()
        self._bc, self._ids = blocks_config, ids

    def __missing__(self, key):
        value = self._bc.config_for_block(key, [], self._bc.blocks[key])
        self[key] = value
        return value

    def _fill(self):
        for k in self._ids:
            if not dict.__contains__(self, k):
                self[k]  # noqa: B018 (computes it)

    def items(self):
        self._fill()
        return super().items()

    def values(self):
        self._fill()
        return super().values()


class LazySessionState(_GradioSessionState):
    def __init__(self, blocks):  # Gradio's SessionState.__init__, with config_values made lazy
        self.blocks_config = copy(blocks.default_config)
        self.config_values = LazyConfigs(self.blocks_config,
                                         [k for k in self.blocks_config.blocks if k in blocks.blocks])
        self.state_data = {}
        self._state_ttl = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600


def install() -> None:
    state_holder.SessionState = LazySessionState


class RecentlyUsed(OrderedDict):
    """A dict keyed by session that keeps at most `size` entries: reading or writing one makes
    it the most recent, and the least recent entry that is not `busy` goes first."""

    def __init__(self, size: int, busy=lambda value: False, items=()):
        super().__init__()
        self.size, self.busy = size, busy
        for k, v in items:
            self[k] = v

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.move_to_end(key)
        if len(self) > self.size:
            for k in list(self.keys())[: len(self) - self.size + 16]:  # a few at a time: busy ones stay
                if len(self) <= self.size:
                    break
                if not self.busy(OrderedDict.__getitem__(self, k)):
                    del self[k]


def protect_queues(demo, size: int = SESSIONS * 10) -> None:
    """Bound and protect the queue's per-session structures (after `demo.queue()`)."""
    q = demo._queue
    q.pending_messages_per_session = RecentlyUsed(size, lambda m: not m.empty(),
                                                  q.pending_messages_per_session.items())
    q.pending_event_ids_session = RecentlyUsed(size, bool, q.pending_event_ids_session.items())
