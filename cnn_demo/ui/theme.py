"""The app's look: Gradio's Soft theme with text that passes WCAG AA contrast (4.5:1), in
light and dark mode — the Soft theme's indigo labels on pale indigo measured 3.6:1, its grey
placeholders 2.5:1, white on its primary buttons 4.46:1 (axe-core)."""
import gradio as gr

# the accent has no dark variant in Gradio's theme: the selected tab's text is set in views/style.css


def theme() -> gr.themes.Base:
    return gr.themes.Soft().set(
        block_label_text_color="*primary_700", block_title_text_color="*primary_700",
        block_label_text_color_dark="white", block_title_text_color_dark="white",
        block_label_background_fill_dark="*primary_800",
        body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
        input_placeholder_color="*neutral_500", input_placeholder_color_dark="*neutral_400",
        color_accent="*primary_700", color_accent_soft="*primary_50",
        link_text_color="*secondary_700", link_text_color_visited="*secondary_700",
        button_primary_background_fill="*primary_600", button_primary_background_fill_hover="*primary_700",
        button_primary_border_color="*primary_600", checkbox_label_background_fill_selected="*primary_600",
        slider_color="*primary_600",
    )
