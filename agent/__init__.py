"""netwatt: energy telemetry for network gear.

Data flow: config -> collectors (raw values) -> normalise (readings) -> device_power (the device
total) -> pipeline (estimate -> energy -> emissions -> points) -> store -> pipeline/forward -> outputs.
"""

__version__ = "0.1.0"
