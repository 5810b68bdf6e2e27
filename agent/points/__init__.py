"""The InfluxDB schema and its line protocol encoding."""
