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


def load_yaml_text(text: str, file: str) -> Any:
    try:
        return yaml.load(text, Loader=_loader_for(file))
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
