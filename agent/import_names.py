"""netwatt installs two generic top-level import names, ``agent`` and ``collectors`` (the repository's
layout; see README "Layout"). Another package of the same name earlier on ``sys.path``, or installed over
ours in a shared site-packages, would otherwise show up later as a baffling ImportError or wrong code:
this check, run when ``agent`` is imported, names the foreign one at once."""

from __future__ import annotations

from pathlib import Path


class ForeignPackage(ImportError):
    pass


def require_own_collectors(agent_file: str) -> None:
    """``collectors`` must be netwatt's: it carries netwatt's marker and sits beside ``agent``."""
    import collectors  # noqa: PLC0415  (the check is the import itself)

    where = getattr(collectors, "__file__", None) or str(getattr(collectors, "__path__", "?"))
    home = Path(agent_file).resolve().parent.parent
    if getattr(collectors, "OWNER", None) != "netwatt" or Path(where).resolve().parent.parent != home:
        raise ForeignPackage(
            f"netwatt: the package 'collectors' imported from {where} is not netwatt's (netwatt's is in {home}): "
            "another installed package uses the name. Install netwatt in a virtual environment of its own "
            "(README: Layout).")
