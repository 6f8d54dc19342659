"""Built-in plugin: the trained spam filter.

On arrival (``pigeon_filter_message``) a message scoring at or above ``spam.threshold`` moves to
the account's Junk folder, tagged ``spam``; one in the unsure band (``spam.unsure`` up to the
threshold) is tagged ``unsure``. The commands ``mark-spam`` and ``mark-ham`` train the filter
from the user's judgement (and move the message to Junk or back to the inbox). SpamAssassin's
``spamc`` or Rspamd's ``rspamc`` can score instead, when ``spam.engine`` asks for them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pigeon.hooks import hookimpl

if TYPE_CHECKING:
    from email.message import EmailMessage

    from pigeon.hooks.types import (
        CommandRegistrar,
        KeymapRegistrar,
        MessageRef,
        SettingsRegistry,
        Verdict,
    )

SOURCE = "spam"
DB_FILE = "spam.sqlite"
ENGINES = ("builtin", "spamc", "rspamc", "auto")

_state: dict[str, Any] = {"config": None}


@hookimpl
def pigeon_add_settings(settings: SettingsRegistry) -> None:
    # The classifier's HAM_CUTOFF and SPAM_CUTOFF (its module, with its expressions, costs ~0.5 ms
    # to import: not for every command); tests/test_lean_startup.py holds them equal.
    settings.add("spam.enabled", bool, True, "Score new mail with the spam filter on arrival.")
    settings.add("spam.threshold", float, 0.95, "Spam probability at or above which a new message moves to Junk.")
    settings.add("spam.unsure", float, 0.10, "Above this probability (and below the threshold) a message is tagged 'unsure'.")
    settings.add("spam.min_trained", int, 5, "Score only once at least this many spam and this many ham messages are trained.")
    settings.add(
        "spam.engine",
        str,
        "builtin",
        "Who scores: 'builtin' (pigeon's trained filter), 'spamc' (SpamAssassin), 'rspamc' (Rspamd), or 'auto' (spamc or rspamc when installed, else builtin).",
        choices=ENGINES,
    )


@hookimpl
def pigeon_configure(config: Any) -> None:
    _state["config"] = config


def _setting(name: str, default: Any) -> Any:
    config = _state["config"]
    return config.get(name, default) if config is not None else default


def db_path(state_dir: str | Path | None = None) -> Path:
    from pigeon.core import paths

    config = _state["config"]
    override = state_dir or (config.get("state_dir") if config is not None else None) or None
    return paths.ensure_private_dir(paths.state_dir(override)) / DB_FILE


def open_classifier(path: Path | None = None) -> Any:
    from pigeon.plugins.spam_classifier import Classifier, TokenStore

    return Classifier(TokenStore(path or db_path()))


# --------------------------------------------------------------------------- external engines


def external_engine() -> str | None:
    """The external scorer to use, or None for the built-in classifier."""
    engine = _setting("spam.engine", "builtin")
    if engine in ("spamc", "rspamc"):
        return engine
    if engine == "auto":
        import shutil

        for name in ("spamc", "rspamc"):
            if shutil.which(name):
                return name
    return None


def external_score(engine: str, data: bytes, timeout: float = 30) -> float | None:
    """A spam probability from spamc/rspamc: their score over their threshold, squashed to [0, 1].

    ``spamc -c`` prints ``score/threshold``; ``rspamc`` prints ``Score: s / t``. At the threshold
    the probability is the spam threshold of pigeon, so the Junk decision stays theirs.
    """
    cmd = [engine, "-c"] if engine == "spamc" else [engine, "symbols"]
    import subprocess

    try:
        res = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = res.stdout.decode("utf-8", "replace")
    m = re.search(r"(-?\d+(?:\.\d+)?)\s*/\s*(-?\d+(?:\.\d+)?)", text)
    if not m:
        return None
    score, threshold = float(m.group(1)), float(m.group(2))
    if threshold <= 0:
        return 1.0 if score >= threshold else 0.0
    ratio = score / threshold
    cut = float(_setting("spam.threshold", 0.95))
    if ratio >= 1:
        return min(1.0, cut + (1 - cut) * min(1.0, ratio - 1))
    return max(0.0, cut * ratio)


# --------------------------------------------------------------------------- scoring


def score_message(msg: EmailMessage, data: bytes = b"", classifier: Any = None) -> float | None:
    """The spam probability of a message, or None when the filter is not trained enough."""
    engine = external_engine()
    if engine:
        return external_score(engine, data or bytes(msg))
    own = classifier is None
    clf = classifier or open_classifier()
    try:
        nspam, nham = clf.store.totals()
        minimum = int(_setting("spam.min_trained", 5))
        if nspam < minimum or nham < minimum:
            return None
        return clf.score(msg)
    finally:
        if own:
            clf.store.close()


def verdict_for(probability: float | None, account: str | None) -> Verdict | None:
    from pigeon.hooks.types import Verdict

    if probability is None:
        return None
    threshold = float(_setting("spam.threshold", 0.95))
    unsure = float(_setting("spam.unsure", 0.10))
    if probability >= threshold:
        return Verdict(
            add_tags=["spam"],
            move_to=_junk_folder(account),
            reason=f"spam probability {probability:.3f} (threshold {threshold:.2f})",
            source=SOURCE,
        )
    if probability > unsure:
        return Verdict(add_tags=["unsure"], reason=f"spam probability {probability:.3f} (unsure)", source=SOURCE)
    return None


def _junk_folder(account: str | None) -> str:
    config = _state["config"]
    if config is not None and account and account in config.accounts:
        return config.accounts[account].folder("junk")
    return "Junk"


@hookimpl
def pigeon_filter_message(message: EmailMessage, ref: MessageRef) -> Verdict | None:
    if not _setting("spam.enabled", True):
        return None
    data = b""
    try:
        data = Path(ref.path).read_bytes()
    except OSError:
        pass
    return verdict_for(score_message(message, data), ref.account or None)


# --------------------------------------------------------------------------- marking


def _message_of(ctx: Any, target: str) -> tuple[Path, str | None]:
    from pigeon.core.errors import CommandError
    from pigeon.hooks.types import MessageRef

    ref = ctx.message
    if target:
        return Path(target).expanduser(), ctx.account
    if isinstance(ref, MessageRef):
        return Path(ref.path), ref.account or ctx.account
    if isinstance(ref, (str, Path)) and Path(ref).is_file():
        return Path(ref), ctx.account
    raise CommandError("no message selected")


def _refile(path: Path, account: str | None, role: str) -> Path:
    """Move a Maildir message file to the account's folder for ``role``, through the store."""
    from pigeon.core.maildir import Maildir, entry_for_path

    config = _state["config"]
    if config is None:
        return path
    if not account or account not in config.accounts:
        # A search across accounts: the account is the one whose Maildir holds the file.
        owners = [n for n, a in config.accounts.items() if Path(path).resolve().is_relative_to(Path(a.maildir).resolve())]
        if not owners:
            return path
        account = owners[0]
    acct = config.accounts[account]
    store = Maildir(acct.maildir, create=False)
    entry = entry_for_path(store, path)
    folder = acct.folder(role)
    if entry is None or entry.folder == folder:
        return path
    return store.move(entry, folder).path


def _mark(ctx: Any, target: str, is_spam: bool) -> None:
    from email import policy
    from email.parser import BytesParser

    from pigeon.core.errors import CommandError

    path, account = _message_of(ctx, target)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    msg = BytesParser(policy=policy.default).parsebytes(data)
    clf = open_classifier()
    try:
        changed = clf.train(msg, is_spam, data)  # type: ignore[arg-type]
    finally:
        clf.store.close()
    moved = _refile(path, account, "junk" if is_spam else "inbox")
    label = "spam" if is_spam else "not spam"
    where = f"; moved to {moved.parent.parent.name}" if moved != path else ""
    ctx.print(f"marked as {label}{'' if changed else ' (already trained so)'}{where}")
    ctx.data["moved_to"] = moved


def mark_spam(ctx: Any, target: str = "") -> None:
    """Mark the message as spam: train the spam filter on it and move it to Junk."""
    _mark(ctx, target, True)


def mark_ham(ctx: Any, target: str = "") -> None:
    """Mark the message as not spam: train the spam filter on it and move it back to the inbox."""
    _mark(ctx, target, False)


@hookimpl
def pigeon_register_commands(register: CommandRegistrar) -> None:
    register(mark_spam, modes=("list", "message"))
    register(mark_ham, modes=("list", "message"))


@hookimpl
def pigeon_register_keymaps(keymaps: KeymapRegistrar) -> None:
    # Gnus marks spam with "$"; M-$ takes the mark back.
    for mode in ("list", "message"):
        keymaps.bind(mode, "$", "mark-spam")
        keymaps.bind(mode, "M-$", "mark-ham")
