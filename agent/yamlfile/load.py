"""Strict YAML loading that remembers where every key and item came from.

Mappings load as ``YamlMap`` (a dict that knows the line of each key), sequences as ``YamlList``.
Duplicate keys are errors; PyYAML's C parser is used when present (a 10,000-device inventory is
several MB, see bench/).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from agent.errors import ConfigError

MAX_FILE_BYTES = 64 * 1024 * 1024

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlMap(dict[Any, Any]):
    file: str = ""
    line: int | None = None
    key_lines: dict[Any, int]


class YamlList(list[Any]):
    file: str = ""
    line: int | None = None
    item_lines: list[int]


def _loader_for(file: str) -> type:
    class Loader(_BaseLoader):  # type: ignore[misc]
        def construct_yaml_map(self, node: yaml.MappingNode) -> Any:
            data = YamlMap()
            data.file, data.line, data.key_lines = file, node.start_mark.line + 1, {}
            yield data
            for key_node, value_node in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if not isinstance(key, str | int) or isinstance(key, bool):
                    raise ConfigError(f"keys must be text or integers, not {type(key).__name__} {key!r}",
                                      file=file, line=line)
                if key in data:
                    raise ConfigError(f"duplicate key {key!r} (first at line {data.key_lines[key]})",
                                      file=file, line=line, key=str(key))
                data[key] = self.construct_object(value_node, deep=True)
                data.key_lines[key] = line

        def construct_yaml_seq(self, node: yaml.SequenceNode) -> Any:
            data = YamlList()
            data.file, data.line = file, node.start_mark.line + 1
            data.item_lines = [child.start_mark.line + 1 for child in node.value]
            yield data
            data.extend(self.construct_object(child, deep=True) for child in node.value)

    Loader.add_constructor("tag:yaml.org,2002:map", Loader.construct_yaml_map)
    Loader.add_constructor("tag:yaml.org,2002:seq", Loader.construct_yaml_seq)
    return Loader


_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
_SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")
_NO_KEY = object()
_STR_TAG = "tag:yaml.org,2002:str"


class _Builder:
    """The document built straight from the parser's events, one scalar at a time.

    ``yaml.load`` composes the whole node graph before building anything: ~100 objects a device, 66 MB
    for a 10,000-device inventory (a 136 MB process, beside the agent that waits for it). Built from
    events, only the result is held. Mappings and sequences are the same ``YamlMap``/``YamlList`` with
    the same lines and errors as ``_loader_for``'s constructors; scalars are resolved and constructed
    by the same loader (so ``yes``, ``0x1F``, ``~``, timestamps mean what they always did)."""

    def __init__(self, loader: Any, file: str) -> None:
        self.loader = loader
        self.file = file
        self.anchors: dict[str, Any] = {}
        self.stack: list[list[Any]] = []      # [container, pending key or _NO_KEY, the key's line]
        self.root: Any = None

    def build(self) -> Any:
        loader = self.loader
        document: Any = None
        while loader.check_event():
            event: Any = loader.get_event()
            start: Any = event.start_mark
            if isinstance(event, yaml.DocumentStartEvent):
                if document is not None:
                    raise yaml.composer.ComposerError("expected a single document in the stream",
                                                      document.start_mark, "but found another document", start)
                document = event
            elif isinstance(event, yaml.ScalarEvent):
                self._scalar(event)
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor not in self.anchors:
                    raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}", start)
                self._add(self.anchors[event.anchor], start)
            elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                self._collection(event)
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                self.stack.pop()
        return self.root

    def _scalar(self, event: Any) -> None:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR_TAG:                          # most scalars: the text itself, no node to build
            value = event.value
        else:
            node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
            value = self.loader.construct_object(node, deep=True)
            self.loader.constructed_objects.clear()      # it would keep every node
        if event.anchor is not None:
            self.anchors[event.anchor] = value
        self._add(value, event.start_mark)

    def _collection(self, event: Any) -> None:
        mapping = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (_MAP_TAGS if mapping else _SEQ_TAGS):
            raise yaml.constructor.ConstructorError(None, None, f"unsupported tag {event.tag!r}", event.start_mark)
        data: YamlMap | YamlList
        if mapping:
            data = YamlMap()
            data.key_lines = {}
        else:
            data = YamlList()
            data.item_lines = []
        data.file, data.line = self.file, event.start_mark.line + 1
        if event.anchor is not None:
            self.anchors[event.anchor] = data
        self._add(data, event.start_mark)
        self.stack.append([data, _NO_KEY, 0])

    def _add(self, value: Any, mark: Any) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        container = top[0]
        if isinstance(container, YamlList):
            container.append(value)
            container.item_lines.append(mark.line + 1)
            return
        if top[1] is _NO_KEY:
            line = mark.line + 1
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise ConfigError(f"keys must be text or integers, not {type(value).__name__} {value!r}",
                                  file=self.file, line=line)
            if value in container:
                raise ConfigError(f"duplicate key {value!r} (first at line {container.key_lines[value]})",
                                  file=self.file, line=line, key=str(value))
            top[1], top[2] = value, line
            return
        container[top[1]] = value
        container.key_lines[top[1]] = top[2]
        top[1] = _NO_KEY


def _build(text: str, file: str) -> Any:
    loader = _loader_for(file)(text)
    try:
        return _Builder(loader, file).build()
    finally:
        loader.dispose()


def load_yaml_text(text: str, file: str) -> Any:
    try:
        return _build(text, file)
    except ConfigError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"not valid YAML: {exc.problem or exc}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=file) from None


def load_yaml_file(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(f"file is {size} bytes, larger than {MAX_FILE_BYTES}", file=str(path))
        text = path.read_text(encoding="utf-8")
    except ConfigError:
        raise
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    return load_yaml_text(text, str(path))
