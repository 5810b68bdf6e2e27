"""The sans-I/O bulk walker: subtree ends, broken agents, request caps."""

from __future__ import annotations

from collectors.errors import ErrorKind
from collectors.snmp.types import EndOfMibView, Oid, SnmpValue, parse_oid
from collectors.snmp.walk import BulkWalk, WalkPlanner

A = parse_oid("1.3.6.1.2.1.99.1.1.1.4")
B = parse_oid("1.3.6.1.2.1.105.1.3.1.1.4")


def reply_for(table: dict[Oid, SnmpValue], requested: list[Oid],
              repetitions: int) -> list[tuple[Oid, SnmpValue]]:
    """What a correct agent answers to a GETBULK over ``table``."""
    oids = sorted(table)
    out: list[tuple[Oid, SnmpValue]] = []
    cursors = list(requested)
    for _ in range(repetitions):
        for i, cursor in enumerate(cursors):
            following = [o for o in oids if o > cursor]
            if following:
                cursors[i] = following[0]
                out.append((following[0], table[following[0]]))
            else:
                out.append((cursor, EndOfMibView))
    return out


def run(walk: BulkWalk, table: dict[Oid, SnmpValue], repetitions: int) -> None:
    while requested := walk.next_request():
        walk.feed(requested, reply_for(table, requested, repetitions))


def test_walks_several_subtrees_in_one_request_and_stops_at_their_ends() -> None:
    table: dict[Oid, SnmpValue] = {(*A, i): i * 10 for i in range(1, 4)}
    table |= {(*B, 1): 115, (*B, 2): 20, parse_oid("1.3.6.1.2.1.200.1"): 1}
    walk = BulkWalk([A, B], max_requests=10)
    run(walk, table, repetitions=5)
    assert walk.varbinds == {(*A, 1): 10, (*A, 2): 20, (*A, 3): 30, (*B, 1): 115, (*B, 2): 20}
    assert walk.requests == 1          # no extra request to learn that the tables ended
    assert walk.errors == []


def test_pages_through_long_tables() -> None:
    table: dict[Oid, SnmpValue] = {(*A, i): i for i in range(1, 26)}
    walk = BulkWalk([A], max_requests=10)
    run(walk, table, repetitions=10)
    assert len(walk.varbinds) == 25
    assert walk.requests == 3


def test_nested_subtrees_are_walked_once() -> None:
    walk = BulkWalk([A, (*A, 5), A], max_requests=10)
    assert walk.subtrees == [A]


def test_non_increasing_agent_is_an_error_for_that_subtree_only() -> None:
    walk = BulkWalk([A, B], max_requests=10)
    requested = walk.next_request()
    walk.feed(requested, [((*A, 2), 1), ((*B, 1), 5), ((*A, 1), 1), ((*B, 2), 6)])
    assert [e.kind for e in walk.errors] == [ErrorKind.NON_INCREASING]
    assert "1.3.6.1.2.1.99.1.1.1.4.1 after 1.3.6.1.2.1.99.1.1.1.4.2" in walk.errors[0].message
    assert walk.next_request() == [(*B, 2)]       # the healthy subtree goes on
    assert (*B, 2) in walk.varbinds


def test_runaway_agent_is_stopped_at_the_request_cap() -> None:
    walk = BulkWalk([A], max_requests=3)
    counter = 0
    while requested := walk.next_request():
        counter += 1
        walk.feed(requested, [((*A, counter), counter)])
    assert walk.requests == 3
    assert [e.kind for e in walk.errors] == [ErrorKind.WALK_LIMIT]


def test_empty_reply_ends_the_walk() -> None:
    walk = BulkWalk([A], max_requests=3)
    walk.feed(walk.next_request(), [])
    assert walk.done
    assert walk.varbinds == {}


def test_second_poll_uses_what_the_first_one_learned() -> None:
    empty = parse_oid("1.3.6.1.2.1.229.1.2.1.1")
    table: dict[Oid, SnmpValue] = {(*A, i): i for i in range(1, 31)}
    table[(*B, 1)] = 115
    table[parse_oid("1.3.6.1.2.1.300")] = 1
    planner = WalkPlanner(reprobe_every=2)
    first_subtrees, expected = planner.plan("sw1", [A, B, empty])
    first = BulkWalk(first_subtrees, max_requests=20, expected_rows=expected)
    while requested := first.next_request():
        first.feed(requested, reply_for(table, requested, first.repetitions()))
    planner.learn("sw1", first)
    assert first.requests == 2                        # a 64-varbind budget over three subtrees
    second_subtrees, expected = planner.plan("sw1", [A, B, empty])
    assert second_subtrees == [A, B]                  # the empty one is skipped...
    second = BulkWalk(second_subtrees, max_requests=20, max_repetitions=50, expected_rows=expected)
    assert second.repetitions() == 31                 # ...and 30 rows + the end fit in one request
    while requested := second.next_request():
        second.feed(requested, reply_for(table, requested, second.repetitions()))
    assert second.requests == 1
    assert second.varbinds == first.varbinds
    planner.learn("sw1", second)
    assert planner.plan("sw1", [A, B, empty])[0] == [A, B, empty]     # ...and probed again every 2nd poll


def test_a_failed_walk_is_forgotten() -> None:
    planner = WalkPlanner()
    walk = BulkWalk([A], max_requests=1)
    walk.feed(walk.next_request(), [((*A, 2), 1), ((*A, 1), 1)])
    planner.learn("sw1", walk)
    assert planner.plan("sw1", [A]) == ([A], {})
