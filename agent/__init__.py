"""netwatt: energy telemetry for network gear.

Data flow: config -> collectors (raw values) -> normalise (readings) -> device_power (the device
total) -> energy -> emissions -> store/forward.
"""

__version__ = "0.1.0"
