"""The embedded SQLite store, the durable spool, and forwarding to the outputs."""
