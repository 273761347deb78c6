"""How the app's events are wired: what a learner sees last is the answer to what they did last."""
import os
from collections import defaultdict

import pytest


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    os.environ["CNN_DEMO_CHECKPOINTS"] = str(tmp_path_factory.mktemp("runs"))
    import app
    return app.build_app()


def test_a_view_is_written_by_one_event_whatever_control_moves(demo):
    """Two events running the same handler into the same outputs run side by side: two quick
    changes (stride, then dilation) could land in the wrong order and show the older answer (a
    CI run saw the playground keep dilation 1 after it was set to 2). One event with
    `always_last` makes the page hold the next change back and send the controls as they are."""
    views = defaultdict(list)
    for dep in demo.fns.values():
        if any(event == "then" for _, event in dep.targets):
            continue  # a step of a chain, run by the one before it
        fn = getattr(dep.fn, "__wrapped__", dep.fn)  # the handler behind `bound`
        views[fn, tuple(b._id for b in dep.outputs)].append(dep)
    split = {fn.__name__: len(deps) for (fn, _), deps in views.items() if len(deps) > 1}
    assert split == {}
    many = [dep for dep in demo.fns.values() if len(dep.targets) > 1]
    assert len(many) >= 8
    assert {dep.trigger_mode for dep in many} == {"always_last"}
    playground = [dep for dep in many if dep.fn.__name__ == "on_change"]
    assert len(playground) == 1 and len(playground[0].targets) == 14  # the page load and 13 controls
