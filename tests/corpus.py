"""Where the LibreNMS walks the interoperability tests read live: ``../shared/corpus/librenms`` beside the
clone (GPL-3.0 test data, never in this repository or the wheel), or ``NETWATT_CORPUS``. A clone with
nothing beside it skips those tests with one line saying so; ``NETWATT_REQUIRE_CORPUS=1`` (set by
``.ci/run``, whose machine has the corpus) turns its absence into a failure, so CI never skips them."""

from __future__ import annotations

import os
from pathlib import Path

CORPUS = Path(os.environ.get("NETWATT_CORPUS") or
              Path(__file__).resolve().parents[2] / "shared" / "corpus" / "librenms")


def corpus_present() -> bool:
    return CORPUS.is_dir() and any(CORPUS.glob("*.snmprec"))


def corpus_required() -> bool:
    return os.environ.get("NETWATT_REQUIRE_CORPUS") == "1"


def absent_note() -> str:
    return (f"LibreNMS corpus not found at {CORPUS}: tests/test_corpus_interop.py not run "
            "(put the corpus there or set NETWATT_CORPUS to run them)")
