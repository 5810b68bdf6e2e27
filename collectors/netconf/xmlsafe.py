"""Parsing device XML without trusting it: no DTDs, no entities, no network, bounded size.

NETCONF messages never need a document type declaration, so any ``<!DOCTYPE`` or ``<!ENTITY`` is
refused before a parser sees it (entity expansion, external entities); the parser is configured to
resolve nothing either way.
"""

from __future__ import annotations

import re

from lxml import etree

_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class UnsafeXml(ValueError):
    """A message that is refused before parsing: a DTD, an entity declaration, or too large."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def check_message(data: bytes | str, *, max_bytes: int) -> None:
    """Raise UnsafeXml for a message we will not parse."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise UnsafeXml(f"reply of {len(raw)} bytes exceeds the {max_bytes}-byte limit")
    found = _DECLARATION.search(raw)
    if found:
        kind = found.group(1).decode().upper()
        raise UnsafeXml(f"reply contains a <!{kind}> declaration (entity expansion and external "
                        "entities are refused)")


def parse(data: bytes | str, *, max_bytes: int) -> etree._Element:
    """Parse one message; UnsafeXml or etree.XMLSyntaxError on anything else than plain XML."""
    check_message(data, max_bytes=max_bytes)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return etree.fromstring(raw, parser=_parser())
