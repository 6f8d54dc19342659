"""Built-in plugin: attachments (being written)."""
