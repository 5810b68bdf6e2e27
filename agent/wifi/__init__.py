"""On-demand Wi-Fi: policies decide the desired state of radios, APs and SSIDs; guard rails limit what
may change; controller adapters apply it, read it back, and every action is audited with its savings.

settings (the ``wifi:`` config section) -> policy (pure, clock injected) -> planner (+ guards)
  -> executor (dead-man revert first, apply, read back, confirm or revert) -> store (audit) + points
"""
