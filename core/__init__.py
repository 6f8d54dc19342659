"""pigeon's core: protocols, Maildir store, configuration, plugin host, commands and CLI.

The core never renders HTML, touches gpg, decides what is spam or imports prompt_toolkit:
it asks the hooks in ``pigeon.hooks``.
"""
