"""Strict YAML files: loading with line numbers, typed reading of mappings with precise errors."""
