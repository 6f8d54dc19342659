"""Built-in plugin: render_html (being written)."""
