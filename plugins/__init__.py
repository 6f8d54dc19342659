"""pigeon's built-in plugins. Each is an ordinary plugin, registered like a user's.

Modules here import their heavy dependencies (prompt_toolkit, gnupg, ...) inside the hook
implementations, so that a command that does not need them starts fast.
"""
