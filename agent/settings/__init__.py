"""Configuration's generic tools (secrets by reference, addresses, the dump's rules) and the inventory every
feature reads; no feature is imported here (the whole config is assembled in agent/config/)."""
