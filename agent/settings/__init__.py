"""Configuration: the YAML file, strictly checked, with secrets by reference."""
