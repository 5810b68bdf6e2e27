"""Where points go after the store: InfluxDB 1.x, 2.x and 3.x writers behind one small contract."""
