"""Controller adapters: one contract (read, apply, read back), each declaring the scopes it can switch."""
