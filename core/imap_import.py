"""Importing ``imapclient`` quickly: imported for its side effect, before ``imapclient``.

imapclient's ``version`` module asks ``importlib.metadata`` for its own version when the
package is imported. That pulls in the email package, zipfile and friends and parses the
distribution's METADATA file: about a quarter of what a no-change ``pigeon sync`` spends on
imports, for a string nothing in pigeon reads. Here the version is taken from the name of
the ``imapclient-X.Y.Z.dist-info`` directory beside the package instead (one directory
listing), and a stand-in ``imapclient.version`` module carrying it is put in place. When that
cannot be done (an unusual installation, a version that is not X.Y.Z), nothing is changed and
imapclient computes its version itself.
"""

from __future__ import annotations

import os
import sys
import types


def _install() -> None:
    if "imapclient" in sys.modules or "imapclient.version" in sys.modules:
        return
    try:
        import importlib.util

        spec = importlib.util.find_spec("imapclient")
        locations = list(spec.submodule_search_locations or []) if spec else []
        if not locations:
            return
        site = os.path.dirname(locations[0])
        prefix = "imapclient-"
        found = [n[len(prefix) : -len(".dist-info")] for n in os.listdir(site)
                 if n.lower().startswith(prefix) and n.endswith(".dist-info")]
    except (ImportError, OSError, ValueError):
        return
    if len(found) != 1:
        return
    parts = found[0].split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return
    mod = types.ModuleType("imapclient.version")
    mod.version = found[0]  # type: ignore[attr-defined]
    mod.version_info = (int(parts[0]), int(parts[1]), int(parts[2]), "final")  # type: ignore[attr-defined]
    sys.modules["imapclient.version"] = mod


_install()
