"""netwatt: energy telemetry for network gear.

Data flow: config -> collectors (raw values) -> normalise (readings) -> device_power (the device
total) -> pipeline (estimate -> energy -> emissions -> points) -> store -> pipeline/forward -> outputs.
"""

from agent.import_names import require_own_collectors

__version__ = "0.1.0"

require_own_collectors(__file__)      # `collectors` is a generic name: fail at once on a namesake
