"""Device power: profiles (data), raw values -> readings, readings -> the device total."""
