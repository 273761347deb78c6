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
"""
from __future__ import annotations

import os
from copy import copy

from gradio import state_holder

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
