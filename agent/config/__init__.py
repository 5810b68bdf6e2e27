"""The whole configuration, assembled above the features: the inventory (agent/settings/) and each
feature's own section (agent/wifi/settings.py, agent/emissions/settings.py)."""
