"""Protocol collectors: they talk to devices and return raw values with where they came from.

A collector never normalises, never writes to a sink and never imports ``agent``; the agent turns
what a collector returns into readings (see ``agent.power.normalise``).
"""

OWNER = "netwatt"      # what agent/import_names.py checks: this `collectors` is netwatt's, not a namesake
