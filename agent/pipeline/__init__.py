"""The reading's walk above the store: poll result -> estimate -> energy -> emissions -> points (record.py),
committed by the store, then spool -> outputs (forward.py). The store below only persists."""
