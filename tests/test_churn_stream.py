"""The change stream, the replay file and the events they become.

GIVEN a seed and a rate WHEN the stream is generated THEN it is reproducible, Poisson-like and
follows the mix; GIVEN replay text WHEN parsed THEN each malformed line is named with its
file and line number; GIVEN a stream WHEN applied to a workload THEN each event says what
it added, removed or changed, and the store the control plane reads follows it."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from gwbench.errors import InputError
from gwbench.harness.churn.events import IngressStore, key_of, materialize
from gwbench.harness.churn.replay import format_replay, load_replay, parse_replay
from gwbench.harness.churn.stream import KINDS, Arrival, parse_mix, poisson_stream
from gwbench.workloads import churn
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec


def test_the_stream_is_seeded_and_has_the_asked_rate() -> None:
    a = poisson_stream(600, 600, 5)
    assert a == poisson_stream(600, 600, 5)
    assert a != poisson_stream(600, 600, 6)
    # 6,000 expected arrivals: a Poisson count is within 4 sigma (~310) of it
    assert abs(len(a) - 6000) < 320
    assert all(x.at < y.at for x, y in itertools.pairwise(a))
    assert all(0 <= x.at < 600 for x in a)


def test_the_mix_decides_the_kinds() -> None:
    only = poisson_stream(600, 60, 1, parse_mix("delete=1"))
    assert {a.kind for a in only} == {"delete"}
    mixed = poisson_stream(6000, 60, 1, parse_mix("add=3,change-path=1"))
    adds = sum(a.kind == "add" for a in mixed)
    assert 0.70 < adds / len(mixed) < 0.80


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("add", "KIND=WEIGHT"),
        ("grow=1", "KIND=WEIGHT"),
        ("add=x", "not a number"),
        ("add=-1", ">= 0"),
        ("add=0", "above 0"),
    ],
)
def test_a_bad_mix_names_the_option(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_mix(text)
    assert "--mix" in str(info.value)


def test_a_replay_file_round_trips(tmp_path: Path) -> None:
    arrivals = [
        Arrival(0.0, "add", 1),
        Arrival(1.25, "change-path", 2, "ns-1/app"),
        Arrival(1.25, "rotate-certificate", 3, "ns-1/tls"),
    ]
    path = tmp_path / "history.txt"
    path.write_text(format_replay(arrivals) + "\n# trailing comment\n\n")
    loaded = load_replay(path)
    assert [(a.at, a.kind, a.target) for a in loaded] == [
        (a.at, a.kind, a.target) for a in arrivals
    ]
    assert [a.line for a in loaded] == [2, 3, 4]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("abc add", "time 'abc' is not a number"),
        ("-1 add", ">= 0"),
        ("nan add", ">= 0"),
        ("0.5 add", "before the previous line"),
        ("3", "missing the change kind"),
        ("3 grow", "unknown change kind 'grow'"),
        ("3 add ns/x", "add takes no target"),
        ("3 delete justaname", "not NAMESPACE/NAME"),
        ("3 delete a/b c", "expected 'SECONDS KIND"),
    ],
)
def test_a_malformed_line_names_the_file_and_the_line(line: str, message: str) -> None:
    text = ["# header", "1 add", "", line]
    with pytest.raises(InputError, match=message) as info:
        parse_replay(text, "cluster-history.txt")
    assert str(info.value).startswith("cluster-history.txt: line 4: ")


def test_an_unreadable_or_empty_replay_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_replay(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(InputError, match="holds no change"):
        load_replay(empty)


def test_the_stream_becomes_events_and_the_store_follows_them() -> None:
    workload = generate(WorkloadSpec(150, 3))
    arrivals = poisson_stream(600, 6, 3, dict.fromkeys(KINDS, 1.0))
    events = materialize(workload, arrivals)
    assert [e.kind for e in events] == [a.kind for a in arrivals]
    store = IngressStore(workload)
    size = len(workload)
    for event in events:
        store.apply([event])
        if event.kind in ("add", "add-custom"):
            size += 1
            assert isinstance(event.change, churn.IngressAdded)
            assert key_of(event.upserts[0]) in store.ingresses
        elif event.kind == "delete":
            size -= 1
            assert event.removals and event.removals[0] not in store.ingresses
        elif event.kind == "rotate-certificate":
            assert isinstance(event.change, churn.CertificateRotated)
            assert event.secret_removals and event.secrets
        assert len(store) == size
    # the store ends where applying the changes to the workload ends
    again = IngressStore(workload)
    again.apply(events)
    assert list(again.ingresses) == list(store.ingresses)
    assert [key_of(i) for i in store.workload().ingresses] == list(store.ingresses)


def test_a_replayed_target_that_does_not_exist_names_the_line() -> None:
    workload = generate(WorkloadSpec(20, 1))
    arrivals = parse_replay(["0 add", "1 delete nowhere/nothing"], "h.txt")
    with pytest.raises(InputError, match=r"^h.txt: line 2: no Ingress nowhere/nothing"):
        materialize(workload, arrivals, "h.txt")


def test_a_replayed_target_is_the_object_changed() -> None:
    workload = generate(WorkloadSpec(20, 1))
    victim = "/".join(key_of(workload.ingresses[7]))
    events = materialize(workload, parse_replay([f"0 delete {victim}"], "h.txt"))
    assert events[0].target == victim
