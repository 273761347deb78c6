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

from cnn_demo import insights_view, limits, train_view  # noqa: E402
from cnn_demo.html_views import CSS, md_text  # noqa: E402
from cnn_demo.registry import Registry  # noqa: E402
from cnn_demo.ui import draw_tab, insights_tab, plain_api, playground_tab, sessions, train_tab, why_tab  # noqa: E402
from cnn_demo.ui.guard import RequestGuard  # noqa: E402
from cnn_demo.ui.theme import CSS as THEME_CSS, theme  # noqa: E402

PAGE_JS = (Path(__file__).parent / "cnn_demo" / "ui" / "static" / "page.js").read_text()

INTRO = ("# CNN Explorer\nDraw a digit and watch a convolutional network read it: the input it "
         "really sees, every filter it learned, every feature map of every layer, and its answer.")


def build_app(registry: Registry | None = None) -> gr.Blocks:
    sessions.install()
    registry = registry or Registry().scan()
    # uploads older than UPLOAD_MAX_AGE are deleted every 10 minutes (and all at a restart)
    with gr.Blocks(title="CNN Explorer", delete_cache=(600, limits.UPLOAD_MAX_AGE)) as demo:
        gr.Markdown(INTRO)
        if registry.problems:
            gr.Markdown("⚠️ Some saved checkpoints could not be loaded:\n" +
                        "\n".join(f"- {md_text(p)}" for p in registry.problems))
        with gr.Tabs():
            with gr.Tab("Draw", id="draw"):
                draw = draw_tab.build(registry)
            with gr.Tab("Why this digit?", id="why") as why:
                why_tab.build(registry, draw["sketch"], draw["model"], why)
            with gr.Tab("What neurons look for", id="insights") as ins_tab:
                ins_load = insights_tab.build(registry, draw["sketch"])
            with gr.Tab("Convolution playground", id="playground"):
                play = playground_tab.build(draw["sketch"])
            with gr.Tab("Train & Hub", id="train"):
                train_tab.build(registry, draw["model"], lambda: draw_tab.model_choices(registry))
        gr.api(playground_tab.convolve_api, api_name="convolve", concurrency_limit=2, concurrency_id="convolve")
        demo.load(draw["on_model"], [draw["model"]], [draw["filters"], draw["table"]],
                  api_visibility="private")
        ins_tab.select(*ins_load, api_visibility="private", show_progress="minimal")
        for fn, inputs, outputs in (play["load"], play["colour"]):
            demo.load(fn, inputs, outputs, api_visibility="private")
    demo.registry = registry
    return demo


def launch_kwargs() -> dict:
    """What `launch` needs besides the address: styles, the brush script, and the bounds on what
    a request may send (a body-size guard in front of Gradio, the number of sessions kept)."""
    return {"css": CSS + train_view.CSS + insights_view.CSS + THEME_CSS, "js": PAGE_JS, "max_file_size": "20mb",
            "theme": theme(), "state_session_capacity": limits.SESSIONS,
            "app_kwargs": {"middleware": [Middleware(RequestGuard)]}}


def serve(demo: gr.Blocks, **kwargs) -> gr.Blocks:
    """Launch without blocking, then add the plain HTTP API's route to Gradio's server."""
    demo.queue(default_concurrency_limit=4)
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
