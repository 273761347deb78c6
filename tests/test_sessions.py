"""What a session and the upload folder cost the server, bounded."""
import os
import time

import pytest
from gradio import state_holder

from cnn_demo import limits
from cnn_demo.ui import sessions
from cnn_demo.ui.guard import UploadFolder


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    os.environ["CNN_DEMO_CHECKPOINTS"] = str(tmp_path_factory.mktemp("runs"))
    import app
    return app.build_app()


def test_the_app_makes_lazy_sessions(demo):
    assert state_holder.SessionState is sessions.LazySessionState


def test_a_new_session_computes_no_component_config(demo, monkeypatch):
    """Gradio computed all 208 components' configs for every session (~18 ms, ~320 KB each):
    the sessionless API could make 26 of them a second at most."""
    calls = []
    real = type(demo.default_config).config_for_block

    def counting(*a, **k):
        calls.append(a[0])
        return real(*a, **k)
    monkeypatch.setattr(type(demo.default_config), "config_for_block", staticmethod(counting))
    s = sessions.LazySessionState(demo)
    assert calls == []
    # what a session's configs are read for (deep links, updates) gives the same as Gradio's
    eager = sessions._GradioSessionState(demo)
    assert list(s.components) == list(eager.components)
    assert len(calls) == 2 * len(demo.blocks)


def test_lazy_sessions_are_gradios_sessions_otherwise(demo):
    """If a Gradio upgrade gives SessionState more state, this fails: install() must follow."""
    lazy, eager = sessions.LazySessionState(demo), sessions._GradioSessionState(demo)
    assert set(vars(lazy)) == set(vars(eager))
    assert {k: v for k, v in vars(lazy).items() if k not in ("blocks_config", "config_values")} == \
        {k: v for k, v in vars(eager).items() if k not in ("blocks_config", "config_values")}


def test_sessions_and_uploads_are_bounded_at_launch(demo):
    import app
    kw = app.launch_kwargs()
    assert kw["state_session_capacity"] == limits.SESSIONS
    assert demo.delete_cache == (600, limits.UPLOAD_MAX_AGE)
    assert [m.cls.__name__ for m in kw["app_kwargs"]["middleware"]] == ["RequestGuard"]


def test_the_upload_folder_makes_room_oldest_first(tmp_path):
    for i in range(5):
        p = tmp_path / f"{i}" / "f.bin"
        p.parent.mkdir()
        p.write_bytes(bytes(1000))
        os.utime(p, (time.time() - 100 + i, time.time() - 100 + i))
    folder = UploadFolder(tmp_path, budget=3000, every=0)
    assert folder.make_room(1000)
    left = sorted(p.parent.name for p in tmp_path.rglob("f.bin"))
    assert left == ["4"]  # down to 80 % of the budget with room for the new file
    assert not folder.make_room(5000)


def test_a_learners_stream_survives_a_flood_of_new_sessions():
    """Gradio kept message queues for the 2,000 most recently created sessions: 2,000 sessionless
    calls pushed out the queue of a learner whose drawing was in flight, and its result was
    lost. Used entries stay, and ones with pending messages are never dropped."""
    import asyncio
    from gradio.utils import LRUCache
    gradios = LRUCache(2000)
    ours = sessions.RecentlyUsed(2000, lambda q: not q.empty())
    for cache in (gradios, ours):
        cache["learner"] = asyncio.Queue()
        for i in range(3000):
            cache[f"anon{i}"] = asyncio.Queue()
            if i % 500 == 0 and "learner" in cache:
                cache["learner"]  # the learner's stream reads its queue every few seconds
    assert "learner" not in gradios and "learner" in ours and len(ours) == 2000
    busy = sessions.RecentlyUsed(10, bool)
    busy["waiting"] = {"an event"}
    for i in range(100):
        busy[f"s{i}"] = set()
    assert "waiting" in busy and len(busy) == 10


def test_the_served_app_protects_its_queue(demo):
    import app
    from server import close_app, free_port
    app.serve(demo, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    try:
        assert isinstance(demo._queue.pending_messages_per_session, sessions.RecentlyUsed)
        assert isinstance(demo._queue.pending_event_ids_session, sessions.RecentlyUsed)
    finally:
        close_app(demo)
