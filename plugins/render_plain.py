"""Built-in plugin: render_plain (being written)."""
