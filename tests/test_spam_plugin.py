"""The spam plugin as the client uses it: arrival verdicts, mark-spam/mark-ham, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from assess_helpers import parse
from helpers import run_pigeon
from pigeon.core.app import App
from pigeon.core.commands import CommandContext
from pigeon.core.pluginmanager import call_isolated
from pigeon.hooks.types import MessageRef
from spam_helpers import HAMMY, SPAMMY, variants


def _maildir(root: Path, folders=("INBOX", "Junk", "Spam-train", "Ham-train")) -> Path:
    for folder in folders:
        for sub in ("cur", "new", "tmp"):
            (root / folder / sub).mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def app(config_dir: Path, tmp_path: Path) -> App:
    maildir = _maildir(tmp_path / "mail")
    for i, raw in enumerate(variants(SPAMMY, 6)):
        (maildir / "Spam-train" / "cur" / f"s{i}:2,S").write_text(raw)
    for i, raw in enumerate(variants(HAMMY, 6)):
        (maildir / "Ham-train" / "new" / f"h{i}").write_text(raw)
    (config_dir / "config.toml").write_text(
        f'[accounts.work]\naddress = "bob@ourcorp.com"\nmaildir = "{maildir}"\nfolders = {{ junk = "Junk" }}\n'
    )
    return App.create(config_dir, load_entrypoints=False)


def _train(app: App) -> None:
    root = app.account("work").maildir
    res = run_pigeon("spam", "train", "--spam", str(root / "Spam-train"), "--ham", str(root / "Ham-train"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode().startswith("trained 6 spam and 6 ham")


def _arrive(app: App, raw: str) -> list:
    root = app.account("work").maildir
    path = root / "INBOX" / "new" / f"arrived{abs(hash(raw))}"
    path.write_text(raw)
    verdicts = call_isolated(app.pm, "pigeon_filter_message", message=parse(raw), ref=MessageRef(path, "INBOX", "work"))
    return [v for v in verdicts if v and v.source == "spam"]


def test_untrained_filter_leaves_mail_alone(app: App) -> None:
    assert _arrive(app, SPAMMY) == []


def test_spam_moves_to_junk_on_arrival(app: App) -> None:
    _train(app)
    [verdict] = _arrive(app, SPAMMY.replace("90%", "99%"))
    assert verdict.move_to == "Junk" and "spam" in verdict.add_tags
    assert "spam probability" in verdict.reason
    assert _arrive(app, HAMMY.replace("Thursday", "Monday")) == []


def test_unsure_band_is_tagged(app: App, config_dir: Path) -> None:
    _train(app)
    mixed = SPAMMY.replace("</body>", "minutes of the build meeting release branch Thursday flaky integration test</body>")
    (config_dir / "config.toml").write_text((config_dir / "config.toml").read_text() + "\n[spam]\nthreshold = 0.9999999\nunsure = 0.0\n")
    app2 = App.create(config_dir, load_entrypoints=False)
    [verdict] = _arrive(app2, mixed)
    assert verdict.add_tags == ["unsure"] and verdict.move_to is None


def test_mark_spam_and_ham_train_and_refile(app: App) -> None:
    root = app.account("work").maildir
    msg = root / "INBOX" / "cur" / "m1:2,S"
    msg.write_text(SPAMMY)
    out: list[str] = []
    ctx = CommandContext(app, output=out.append, account="work", folder="INBOX", message=MessageRef(msg, "INBOX", "work"))
    app.commands.run("mark-spam", ctx)
    junk = root / "Junk" / "cur" / "m1:2,S"
    assert junk.exists() and not msg.exists()
    assert out[-1] == "marked as spam; moved to Junk"
    res = run_pigeon("spam", "stats")
    assert res.stdout.decode().startswith("1 spam, 0 ham")
    ctx = CommandContext(app, output=out.append, account="work", folder="Junk", message=MessageRef(junk, "Junk", "work"))
    app.commands.run("mark-ham", ctx)
    assert (root / "INBOX" / "cur" / "m1:2,S").exists()
    assert out[-1] == "marked as not spam; moved to INBOX"
    assert run_pigeon("spam", "stats").stdout.decode().startswith("0 spam, 1 ham")


def test_commands_are_registered_for_list_and_message(app: App) -> None:
    cmd = app.commands.get("mark-spam")
    assert cmd.source == "spam" and "message" in cmd.modes and cmd.doc


def test_cli_score_json_and_text(app: App, tmp_path: Path) -> None:
    _train(app)
    spam_file = tmp_path / "s.eml"
    spam_file.write_text(SPAMMY.replace("cheap pills", "cheap pills now"))
    ham_file = tmp_path / "h.eml"
    ham_file.write_text(HAMMY.replace("Cheers", "Thanks"))
    res = run_pigeon("spam", "score", "--json", str(spam_file), str(ham_file))
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["verdict"] for r in rows] == ["spam", "ham"]
    assert rows[0]["probability"] > 0.95 > 0.05 > rows[1]["probability"]
    text = run_pigeon("spam", "score", "-", input=SPAMMY.encode()).stdout.decode()
    assert text.split()[1] == "spam" and text.split()[2] == "-"


def test_cli_errors_are_one_line(app: App) -> None:
    res = run_pigeon("spam", "train")
    assert res.returncode == 1 and res.stderr.decode().startswith("pigeon: nothing to train")
    res = run_pigeon("spam", "score", "/nonexistent")
    assert res.returncode == 1 and "no such file" in res.stderr.decode()


def test_mark_spam_on_a_file_from_a_search_finds_its_account(app: App) -> None:
    root = app.account("work").maildir
    msg = root / "INBOX" / "cur" / "m2:2,S"
    msg.write_text(SPAMMY)
    out: list[str] = []
    ctx = CommandContext(app, output=out.append, account=None, folder=None, message=str(msg))
    app.commands.run("mark-spam", ctx)
    assert (root / "Junk" / "cur" / "m2:2,S").exists()
    assert out[-1] == "marked as spam; moved to Junk"
