"""CNN Explorer: draw a digit and watch LeNet-5 and a TinyCNN read it.

    python app.py [--share]      (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are honoured)
"""
import spaces  # noqa: F401  (on ZeroGPU Spaces this must come before torch)

import argparse
import os
from pathlib import Path

# Gradio's queue rebuilds a pandas summary of up to 10,000 past events after every event
# unless told otherwise: a cost per drawing that grows with uptime.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "500")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from cnn_demo import limits  # noqa: E402
from cnn_demo.registry import Registry  # noqa: E402
from cnn_demo.ui import (draw_tab, insights_tab, lessons_tab, plain_api, playground_tab, sessions, share,  # noqa: E402
                         train_tab, why_tab)
from cnn_demo.ui.guard import RequestGuard  # noqa: E402
from cnn_demo.ui.shared import Shared  # noqa: E402
from cnn_demo.ui.theme import theme  # noqa: E402
from cnn_demo.views.common import md_text  # noqa: E402

HERE = Path(__file__).parent
STYLE = HERE / "cnn_demo" / "views" / "style.css"
SCRIPTS = [HERE / "cnn_demo" / "ui" / "static" / f"{name}.js" for name in ("a11y", "unit")]
# Gradio runs one function when the page opens: each script is a function, called in turn
PAGE_JS = "() => {\n" + "".join(f"  ({p.read_text().strip()})();\n" for p in SCRIPTS) + "}"
# the Draw tab first (the others read its canvas and model); the Lessons second, in sight on a phone too
TABS = (draw_tab, lessons_tab, why_tab, insights_tab, playground_tab, train_tab)

INTRO = ("# CNN Explorer\nDraw a digit and watch a convolutional network read it, stage by stage: what it "
         "sees, every feature map, and why it answers as it does.")


def build_app(registry: Registry | None = None) -> gr.Blocks:
    sessions.install()
    registry = registry or Registry().scan()
    # uploads older than UPLOAD_MAX_AGE are deleted every 10 minutes (and all at a restart)
    with gr.Blocks(title="CNN Explorer", delete_cache=(600, limits.UPLOAD_MAX_AGE)) as demo:
        shared = Shared(registry, demo)
        with gr.Row(equal_height=True, elem_id="cx-head"):
            gr.Markdown(INTRO, elem_id="cx-intro")
            tour = gr.Button("▶ New here? Take the tour", variant="primary", size="sm", scale=0, min_width=210,
                             elem_id="tour")
            button = share.button()
        link = share.layout(shared, button)
        if registry.problems:
            gr.Markdown("⚠️ Some saved checkpoints could not be loaded:\n" +
                        "\n".join(f"- {md_text(p)}" for p in registry.problems))
        lessons_tab.strip(shared, tour)
        with gr.Tabs(elem_id="cx-tabs") as shared.tabs:
            for tab in TABS:
                tab.build(shared)
        share.wire(shared, link)
        lessons_tab.wire(shared)
    demo.registry = registry
    demo.shared = shared  # what a link or a lesson sets, by component (tests read it)
    demo.linked = shared.linked  # the controls a share link or a lesson may set
    demo.restored, demo.restores = shared.restored, shared.restores  # those only their tab's `restore` sets
    return demo


def launch_kwargs() -> dict:
    """What `launch` needs besides the address: styles, the page scripts, and the bounds on what
    a request may send (a body-size guard in front of Gradio, the number of sessions kept). No
    run history: Gradio 6 would keep every call's inputs and outputs (a stroke's maps are ~40 KB
    of HTML) in the browser's localStorage, re-writing the whole list at each step of each call —
    a stroke's answer came ~10 ms later with every stroke before it, 400 ms after 30 strokes."""
    return {"css_paths": [STYLE], "js": PAGE_JS, "max_file_size": "20mb", "run_history": False,
            "theme": theme(), "state_session_capacity": limits.SESSIONS,
            "app_kwargs": {"middleware": [Middleware(RequestGuard)]}}


def serve(demo: gr.Blocks, **kwargs) -> gr.Blocks:
    """Launch without blocking, then add the plain HTTP API's route to Gradio's server."""
    demo.queue(default_concurrency_limit=limits.WORK_AT_ONCE, max_size=limits.QUEUE_SIZE)
    sessions.protect_queues(demo)
    demo.launch(prevent_thread_lock=True, **launch_kwargs(), **kwargs)
    plain_api.mount(demo.server_app, demo.registry)
    return demo


def main(argv=None):
    p = argparse.ArgumentParser(description="CNN Explorer")
    p.add_argument("--share", action="store_true", default=os.environ.get("CNN_DEMO_SHARE") == "1",
                   help="ask Gradio for a temporary public link (or set CNN_DEMO_SHARE=1)")
    a = p.parse_args(argv)
    serve(build_app(), share=a.share).block_thread()


if __name__ == "__main__":
    main()
