"""``netwatt wifi status``: last state seen per target, requests in force, armed dead-man jobs, recent actions."""

from __future__ import annotations

from datetime import timedelta

from agent.wifi.service import WifiService


def status_json(service: WifiService) -> dict[str, object]:
    now = service.clock()
    store = service.store
    return {
        "time": now.isoformat(),
        "targets": [{"target": key, "enabled": enabled, "clients": clients, "seen": seen.isoformat(), "error": error}
                    for key, (enabled, clients, seen, error) in sorted(store.states().items())],
        "requests": [{"id": r.id, "group": r.group, "state": r.state, "until": r.until.isoformat(), "who": r.who}
                     for r in store.requests(now)],
        "dead_man": [{"id": d.id, "target": d.target, "restore": d.restore, "due": d.due.isoformat(),
                      "attempts": d.attempts} for d in store.armed_deadmen()],
        "prior_states": store.baselines(),
        "pending_restores": [{"request": p.request, "group": p.group, "target": p.target, "before": p.before}
                             for p in store.pending_restores()],
        "recent_actions": [a.to_json() for a in store.actions(now - timedelta(days=1))[-50:]],
    }


def status_table(service: WifiService) -> str:
    now = service.clock()
    store = service.store
    lines = [f"{'target':34} {'enabled':8} {'clients':8} error"]
    for key, (enabled, clients, _seen, error) in sorted(store.states().items()):
        shown = "-" if enabled is None else ("on" if enabled else "off")
        lines.append(f"{key:34} {shown:8} {'-' if clients is None else str(clients):8} {error}")
    for r in store.requests(now):
        lines.append(f"request {r.id}: group {r.group} {r.state} until {r.until.isoformat()} ({r.who})")
    for d in store.armed_deadmen():
        lines.append(f"dead-man job {d.id}: {d.target} back {'on' if d.restore else 'off'} at {d.due.isoformat()}")
    return "\n".join(lines)
