"""Domain activation on a real Envoy, per (N, shape, transport): measurements and records.

For each case a fresh Envoy (Envoy's memory grows across updates, docs/envoy.md) is started on
loopback and fed the translated config by files (filesystem LDS/RDS/SDS) or by gwbench's xDS
control plane over ADS (state of the world or delta, ``harness.envoy.xds``):

1. initial load: from the commit of the full config (rename over the empty files, or the
   hand-over to the control plane) until the last host answers a TLS handshake with its SNI
   and a 200 from its direct response; then a sample of hosts is probed (status, body naming
   the host, served certificate by bytes) and Envoy's RSS read;
2. domain activation, R times: one new host added (per-host: one more filter chain;
   consolidated: one more server name in the shared chain; wildcard: one more virtual host in
   the route configuration, the listener untouched; scoped: one scope and its small route
   configuration, nothing else), timed from the commit until the host answers, with the bytes
   the transport delivered for it (files written, or DiscoveryResponse bytes sent until Envoy
   ACKed everything);
3. certificate rotation, R times: one custom-domain certificate replaced through SDS (the
   listener untouched, as when Istio pushes a renewed Secret under the same name), timed until
   a handshake serves the new certificate.

Admin ``/stats`` is read only between timed steps. Any rejected update (an Envoy log line, or
a NACK over ADS) stops the case with Envoy's own message.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2

from gwbench.errors import InputError
from gwbench.harness.envoy import adapt, model_check, scoped
from gwbench.harness.envoy.bootstrap import CertificateKeyPair
from gwbench.harness.envoy.cpuclock import process_cpu_seconds
from gwbench.harness.envoy.plan import (
    DEFAULT_PROBE_SAMPLE,
    SHAPES,
    CasePlan,
    NewHost,
    Shape,
    plan_case,
)
from gwbench.harness.envoy.probe import ProbeResult
from gwbench.harness.envoy.secrets import leaf_der
from gwbench.harness.envoy.session import TRANSPORTS, LocalEnvoy, Transport
from gwbench.harness.envoy.stats import ListenerManagerStats
from gwbench.harness.envoy.xds_files import FORMATS, Format
from gwbench.harness.progress import Notes, no_notes
from gwbench.heap import frozen_heap, paused_gc
from gwbench.workloads.generate import generate
from gwbench.workloads.model import DEFAULT_SEED, Workload, WorkloadSpec

DEFAULT_REPEAT = 5
RESULT_SCHEMA = "gwbench.envoy/2"
AUTO = "auto"

# ``--transport auto``: each shape over what a gateway would use, plus per-host from files so
# the two transports are compared in the same run. Scoped routes need ADS; delta is where
# their cost stops growing with N.
AUTO_TRANSPORTS: dict[Shape, tuple[Transport, ...]] = {
    "per-host": ("files", "sotw"),
    "consolidated": ("sotw",),
    "wildcard": ("sotw",),
    "scoped": ("delta",),
}


@dataclass(frozen=True)
class ProbeFailure:
    host: str
    status: int
    error: str


@dataclass(frozen=True)
class EnvoyResult:
    """One (N, shape, format) case measured on one fresh Envoy."""

    ingresses: int
    shape: str
    transport: str
    """``files``, ``sotw`` (gRPC ADS, state of the world) or ``delta`` (gRPC ADS, incremental)."""
    format: str
    """What Envoy parsed: ``pb`` or ``yaml`` files; over gRPC the ADS variant (``sotw``,
    ``delta``), so readers keyed on (shape, format), such as the report, keep cases apart."""
    hosts: int
    filter_chains: int
    initial_load_s: float
    initial_cpu_s: float
    """Envoy CPU time (all threads) spent during the initial load."""
    activation_s: float
    """Median of ``activation_samples_s``."""
    activation_samples_s: tuple[float, ...]
    activation_cpu_s: float
    """Median of ``activation_cpu_samples_s``: Envoy's CPU per activation, the cost without
    the wait for a free core."""
    activation_bytes: int
    """Median bytes delivered to Envoy for one activation: DiscoveryResponse bytes the
    control plane sent (until Envoy ACKed), or bytes of the files renamed in."""
    activation_bytes_samples: tuple[int, ...]
    initial_bytes: int
    """Bytes delivered for the initial load (every resource, secrets included over ADS)."""
    rotation_s: float | None
    """Median of ``rotation_samples_s``; None when the workload has no custom certificate."""
    rotation_samples_s: tuple[float, ...]
    listener_updates: int
    """LDS updates the activations needed (0 for the wildcard shape)."""
    in_place: bool
    """Every listener update was applied in place, and rotations did not touch the listener."""
    update_success: int
    update_rejected: int
    filter_chains_draining: int
    rss_bytes: int
    probes: int
    probes_ok: int
    probe_failures: tuple[ProbeFailure, ...]
    envoy_version: str
    seed: int
    repeat: int
    activation_cpu_samples_s: tuple[float, ...] = ()
    """Per activation: CPU time of the whole Envoy process (every thread, user plus system)
    from the commit of the update until the new host answered, read from Envoy's process CPU
    clock (:mod:`harness.envoy.cpuclock`, nanoseconds; ``/proc`` clock ticks of 10 ms where
    that clock cannot be read). It includes the TLS handshakes of the probes that failed
    before the host answered, and nothing after (the ACK wait, admin reads)."""
    activation_cpu_clock: str = "proc-ticks"
    """``process-clock`` (nanoseconds) or ``proc-ticks`` (10 ms)."""
    model: str | None = None
    """The model of Envoy run for the same activations (``EnvoyOptions.model``), else None:
    :mod:`harness.envoy.model_check`."""
    model_update_s: float | None = None
    """Median of ``model_update_samples_s``."""
    model_update_samples_s: tuple[float, ...] = ()
    """Per activation (the same new hosts, in the same order): the model's CPU seconds."""
    model_counters: dict[str, int] | None = None
    """The model's counters for the last activation."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["activation_samples_s"] = list(self.activation_samples_s)
        data["activation_bytes_samples"] = list(self.activation_bytes_samples)
        data["activation_cpu_samples_s"] = list(self.activation_cpu_samples_s)
        data["model_update_samples_s"] = list(self.model_update_samples_s)
        data["rotation_samples_s"] = list(self.rotation_samples_s)
        data["probe_failures"] = [asdict(f) for f in self.probe_failures]
        return data


@dataclass(frozen=True)
class EnvoyOptions:
    fmt: Format = "pb"
    repeat: int = DEFAULT_REPEAT
    seed: int = DEFAULT_SEED
    probe_sample: int = DEFAULT_PROBE_SAMPLE
    binary: Path | None = None
    timeout_s: float | None = None
    """Per-update wait limit; None scales with N (60 s + 5 ms per Ingress)."""
    transports: tuple[str, ...] = (AUTO,)
    """Transports to measure each shape over; ``auto``: :data:`AUTO_TRANSPORTS`."""
    model: bool = False
    """Also run the model of Envoy (:mod:`harness.envoy.model_check`) on each case's
    activations (per-host, consolidated, wildcard), before Envoy starts."""


@dataclass
class _Counters:
    """Listener-manager stats read after each activation: was each update in place?"""

    last: ListenerManagerStats
    listener_updates: int = 0
    pending_updates: int = 0
    in_place: bool = True

    def record(self, now: ListenerManagerStats) -> None:
        before, updates = self.last, self.pending_updates
        in_place = now.listener_in_place_updated - before.listener_in_place_updated
        success = now.lds_update_success - before.lds_update_success
        attempts = now.lds_update_attempt - before.lds_update_attempt
        if not (in_place == updates and success == updates and attempts == updates):
            self.in_place = False
        self.listener_updates += updates
        self.pending_updates = 0
        self.last = now


def results_document(results: Sequence[EnvoyResult], options: dict[str, Any]) -> dict[str, Any]:
    """The versioned JSON document of ``gwbench envoy --json`` / ``-o``."""
    return {
        "schema": RESULT_SCHEMA,
        "options": options,
        "results": [r.to_dict() for r in results],
    }


def check_options(
    ingresses: Sequence[int],
    shapes: Sequence[str],
    fmt: str,
    repeat: int,
    transports: Sequence[str] = (AUTO,),
) -> None:
    """Reject bad parameters with the field they came from (exit 2)."""
    for transport in transports:
        if transport != AUTO and transport not in TRANSPORTS:
            raise InputError(
                f"unknown transport {transport!r}; one of {', '.join(TRANSPORTS)}, {AUTO}",
                field="--transport",
            )
    if shapes and all(s == "scoped" for s in shapes) and list(transports) == ["files"]:
        raise InputError(
            "the scoped shape is served over ADS only: use sotw, delta or auto", field="--transport"
        )
    if not ingresses:
        raise InputError("give at least one value", field="--ingresses")
    for n in ingresses:
        if n < 1:
            raise InputError(f"must be >= 1, got {n}", field="--ingresses")
    for shape in shapes:
        if shape not in SHAPES:
            raise InputError(
                f"unknown shape {shape!r}; one of {', '.join(SHAPES)}", field="--shape"
            )
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}", field="--format")
    if repeat < 1:
        raise InputError(f"must be >= 1, got {repeat}", field="--repeat")


def iter_measure(
    ingresses: Sequence[int],
    shapes: Sequence[Shape],
    options: EnvoyOptions = EnvoyOptions(),
    progress: Notes = no_notes,
) -> Iterator[EnvoyResult]:
    """Every (N, shape) case, each on a fresh Envoy, yielded as soon as it is measured."""
    check_options(ingresses, shapes, options.fmt, options.repeat, options.transports)
    for n in ingresses:
        progress(f"N={n}: generating Ingresses")
        yield from measure_workload(
            generate(WorkloadSpec(n, seed=options.seed)), shapes, options, progress
        )


def measure_workload(
    workload: Workload,
    shapes: Sequence[Shape],
    options: EnvoyOptions = EnvoyOptions(),
    progress: Notes = no_notes,
) -> Iterator[EnvoyResult]:
    """Each (shape, transport) of one workload (generated or the user's own), each on a
    fresh Envoy."""
    for shape in shapes:
        transports = transports_for(shape, options.transports)
        if not transports:
            continue
        progress(f"N={len(workload)} {shape}: translating")
        plan = plan_case(
            workload,
            shape,
            repeat=options.repeat,
            seed=options.seed,
            probe_sample=options.probe_sample,
        )
        timing = None
        if options.model:
            progress(f"N={len(workload)} {shape}: model")
            timing = model_check.model_case(plan)
        for transport in transports:
            result = measure_case(plan, options, progress, transport=transport)
            if timing is not None:
                result = dataclasses.replace(
                    result,
                    model=timing.model,
                    model_update_s=timing.median_s,
                    model_update_samples_s=timing.samples_s,
                    model_counters=timing.counters,
                )
            yield result


def transports_for(shape: Shape, chosen: Sequence[str]) -> list[Transport]:
    """The transports ``shape`` is measured over, in canonical order (``auto`` expanded; the
    scoped shape never from files)."""
    wanted: set[str] = set()
    for name in chosen:
        wanted.update(AUTO_TRANSPORTS[shape] if name == AUTO else (name,))
    return [t for t in TRANSPORTS if t in wanted and not (shape == "scoped" and t == "files")]


def measure(
    ingresses: Sequence[int],
    shapes: Sequence[Shape],
    options: EnvoyOptions = EnvoyOptions(),
    progress: Notes = no_notes,
) -> list[EnvoyResult]:
    """Every (N, shape) case, each on a fresh Envoy; N in the order given."""
    return list(iter_measure(ingresses, shapes, options, progress))


def run_for_results(
    ingresses: int | Sequence[int],
    shapes: Sequence[str] = ("all",),
    fmt: str = "pb",
    repeat: int | None = None,
    seed: int = DEFAULT_SEED,
    progress: Notes = no_notes,
    *,
    workload: Workload | None = None,
    quick: bool = False,
    out_dir: Path | None = None,
    transports: Sequence[str] = (AUTO,),
    model: bool = False,
) -> list[dict[str, Any]]:
    """Entry point for ``gwbench run --envoy``: one plain dict per case for results.json.

    ``ingresses`` is one N or several; ``workload``, when given, is measured instead of
    generating one (the run's own Ingresses, e.g. ``--from-file``; one N only). ``shapes``
    names shapes from ``harness.envoy.plan.SHAPES`` or ``"all"`` (canonical order);
    ``transports`` names transports (``files``, ``sotw``, ``delta``) or ``auto`` (each shape
    over :data:`AUTO_TRANSPORTS`).
    ``model``: also run the model of Envoy on the same activations (``EnvoyOptions.model``).
    ``repeat`` defaults to 5, or 3 when ``quick``. ``out_dir`` also gets ``envoy.json`` (the
    ``gwbench envoy --json`` document). Raises InputError for bad parameters and HarnessError
    when Envoy fails (missing binary, rejected config, timeout); Envoy is stopped either way.
    """
    sizes = [ingresses] if isinstance(ingresses, int) else list(ingresses)
    repeats = repeat if repeat is not None else (3 if quick else DEFAULT_REPEAT)
    chosen: list[Shape] = [s for s in SHAPES if s in shapes or "all" in shapes]
    check_options(sizes, [s for s in shapes if s != "all"], fmt, repeats, transports)
    options = EnvoyOptions(
        fmt="pb" if fmt == "pb" else "yaml",
        repeat=repeats,
        seed=seed,
        transports=tuple(transports),
        model=model,
    )
    if workload is not None:
        results = list(measure_workload(workload, chosen, options, progress))
    else:
        results = measure(sizes, chosen, options, progress)
    records = [r.to_dict() for r in results]
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        document = {
            "schema": RESULT_SCHEMA,
            "options": {
                "ingresses": sizes,
                "shapes": list(chosen),
                "format": options.fmt,
                "transports": list(transports),
                "repeat": repeats,
                "seed": seed,
            },
            "results": records,
        }
        (out_dir / "envoy.json").write_text(json.dumps(document, indent=2) + "\n")
    return records


def _timeout(plan: CasePlan, options: EnvoyOptions) -> float:
    if options.timeout_s is not None:
        return options.timeout_s
    return 60.0 + 0.005 * plan.ingresses


def measure_case(
    plan: CasePlan,
    options: EnvoyOptions = EnvoyOptions(),
    progress: Notes = no_notes,
    *,
    transport: Transport | None = None,
) -> EnvoyResult:
    """Start a fresh Envoy, load ``plan``, activate and rotate; Envoy stopped on return.

    ``transport`` None: the shape's first transport under :data:`AUTO_TRANSPORTS`. The
    cyclic garbage collector is paused while an update is timed (a full collection over the
    workload's objects took hundreds of milliseconds at 50,000 Ingresses)."""
    with frozen_heap():
        return _measure_case(plan, options, progress, transport)


def _measure_case(
    plan: CasePlan,
    options: EnvoyOptions,
    progress: Notes,
    transport: Transport | None,
) -> EnvoyResult:
    via: Transport = transport if transport is not None else AUTO_TRANSPORTS[plan.shape][0]
    if plan.shape == "scoped" and via == "files":
        raise InputError("the scoped shape is served over ADS only", field="--transport")
    label = f"N={plan.ingresses} {plan.shape} {via}"
    timeout = _timeout(plan, options)
    dynamic = [plan.rotation.credential] if plan.rotation is not None else []
    progress(f"{label}: starting Envoy")
    with LocalEnvoy(
        plan.certificates,
        transport=via,
        fmt=options.fmt,
        dynamic_secrets=dynamic,
        route_names=sorted(plan.rds_routes),
        binary=options.binary,
    ) as envoy:
        progress(f"{label}: initial load ({plan.filter_chains} filter chains)")
        listener, routes = _localize(envoy, plan)
        cpu_before = envoy.process.cpu_seconds()
        bytes_before = envoy.bytes_sent()
        with paused_gc():
            initial_s, _ = envoy.wait_for(
                plan.last_host,
                start=_commit_initial(envoy, plan, listener, routes),
                timeout_s=timeout,
                what="initial load",
            )
        envoy.wait_synced(timeout)
        initial_cpu = envoy.process.cpu_seconds() - cpu_before
        initial_bytes = envoy.bytes_sent() - bytes_before
        progress(f"{label}: probing {len(plan.probe_hosts)} hosts")
        failures = _probe_sample(envoy, plan)
        rss = envoy.process.rss_bytes()
        counters = _Counters(last=envoy.admin.listener_manager())
        activations, activation_cpu, activation_bytes = [], [], []
        clocks = set()
        for index, new in enumerate(plan.new_hosts):
            progress(f"{label}: activation {index + 1}/{len(plan.new_hosts)}")
            with paused_gc():
                step = _activate(envoy, plan, listener, routes, new, timeout, counters)
            activations.append(step.seconds)
            activation_cpu.append(step.cpu_s)
            clocks.add(step.clock)
            activation_bytes.append(step.sent)
        rotations = []
        for index, pair in enumerate(plan.rotation.replacements if plan.rotation else ()):
            progress(f"{label}: rotation {index + 1}/{options.repeat}")
            with paused_gc():
                rotations.append(_rotate(envoy, plan, pair, timeout, counters))
        final = counters.last
        rejected = sum(envoy.admin.stats(r"update_rejected$").values())
    return EnvoyResult(
        ingresses=plan.ingresses,
        shape=plan.shape,
        transport=via,
        format=options.fmt if via == "files" else via,
        hosts=len(plan.translation.hosts),
        filter_chains=plan.filter_chains,
        initial_load_s=initial_s,
        initial_cpu_s=initial_cpu,
        activation_s=statistics.median(activations),
        activation_samples_s=tuple(activations),
        activation_cpu_s=statistics.median(activation_cpu),
        activation_cpu_samples_s=tuple(activation_cpu),
        activation_cpu_clock=PROC_TICKS if PROC_TICKS in clocks else PROCESS_CLOCK,
        activation_bytes=int(statistics.median(activation_bytes)),
        activation_bytes_samples=tuple(activation_bytes),
        initial_bytes=initial_bytes,
        rotation_s=statistics.median(rotations) if rotations else None,
        rotation_samples_s=tuple(rotations),
        listener_updates=counters.listener_updates,
        in_place=counters.in_place,
        update_success=final.lds_update_success,
        update_rejected=rejected,
        filter_chains_draining=final.total_filter_chains_draining,
        rss_bytes=rss,
        probes=len(plan.probe_hosts),
        probes_ok=len(plan.probe_hosts) - len(failures),
        probe_failures=tuple(failures),
        envoy_version=envoy.version,
        seed=options.seed,
        repeat=options.repeat,
    )


def _localize(
    envoy: LocalEnvoy, plan: CasePlan
) -> tuple[listener_pb2.Listener, dict[str, route_pb2.RouteConfiguration]]:
    if envoy.over_ads:
        listener = adapt.localize_listener(
            plan.translation.listener, envoy.port, ads_routes=set(plan.rds_routes)
        )
        if plan.shape == "scoped":
            listener = scoped.scoped_listener(listener, plan.domain)
    else:
        listener = adapt.localize_listener(
            plan.translation.listener,
            envoy.port,
            dynamic_secrets=envoy.dynamic_secret_paths(),
            rds_paths=envoy.rds_paths(),
        )
    routes = {name: adapt.localize_routes(rc) for name, rc in plan.rds_routes.items()}
    return listener, routes


def _commit_initial(
    envoy: LocalEnvoy,
    plan: CasePlan,
    listener: listener_pb2.Listener,
    routes: dict[str, route_pb2.RouteConfiguration],
) -> float:
    if envoy.over_ads:
        for config in routes.values():
            if plan.shape == "scoped":
                envoy.stage_scope(scoped.scope(config.virtual_hosts[0].domains[0], config))
            else:
                envoy.stage_routes(config)
        envoy.stage_listener(listener)
        return envoy.commit()
    # the route files must hold their routes before the listener subscribes to them
    for name, config in routes.items():
        envoy.stage_routes(config)
        envoy.commit_routes(name)
    envoy.stage_listener(listener)
    return envoy.commit_listener()


def _probe_sample(envoy: LocalEnvoy, plan: CasePlan) -> list[ProbeFailure]:
    failures = []
    for host in plan.probe_hosts:
        result = envoy.probe(host)
        expected = plan.expected_der[plan.credential_of(host)]
        if not _served(result, host, expected):
            failures.append(ProbeFailure(host, result.status, _why(result, host, expected)))
    return failures


def _served(result: ProbeResult, host: str, der: bytes) -> bool:
    """200, answered by the host's own virtual host, with the host's certificate."""
    return result.ok and result.body == host.encode() and result.cert_der == der


def _serves(host: str, der: bytes) -> Callable[[ProbeResult], bool]:
    return lambda result: _served(result, host, der)


def _why(result: ProbeResult, host: str, der: bytes) -> str:
    if result.error:
        return result.error
    if not result.ok:
        return f"HTTP {result.status}"
    if result.body != host.encode():
        return f"answered by the virtual host of {result.body.decode(errors='replace')!r}"
    return "served another certificate" if result.cert_der != der else ""


@dataclass(frozen=True)
class _Step:
    seconds: float
    cpu_s: float
    sent: int
    clock: str


PROCESS_CLOCK = "process-clock"
PROC_TICKS = "proc-ticks"


class _CpuWindow:
    """Envoy's CPU time over one window, from its process CPU clock when it can be read at
    both ends, else from ``/proc`` ticks."""

    def __init__(self, envoy: LocalEnvoy) -> None:
        self._envoy = envoy
        self._ticks = envoy.process.cpu_seconds()
        self._clock = process_cpu_seconds(envoy.process.pid)

    def close(self) -> tuple[float, str]:
        clock = process_cpu_seconds(self._envoy.process.pid)
        if clock is not None and self._clock is not None:
            return clock - self._clock, PROCESS_CLOCK
        return self._envoy.process.cpu_seconds() - self._ticks, PROC_TICKS


def _stage_activation(
    envoy: LocalEnvoy,
    plan: CasePlan,
    listener: listener_pb2.Listener,
    routes: dict[str, route_pb2.RouteConfiguration],
    new: NewHost,
) -> tuple[str, bool]:
    """Stage the shape's "one more host" edit; (what to commit, listener changed)."""
    if plan.shape == "scoped":
        vhost = new.virtual_host.__class__()
        vhost.CopyFrom(new.virtual_host)
        config = adapt.localize_routes(scoped.scope_routes(vhost))
        routes[config.name] = config
        envoy.stage_scope(scoped.scope(new.host, config))
        return "", False
    if plan.shape == "wildcard" and routes:
        name = _route_for(listener, routes)
        vhost = routes[name].virtual_hosts.add()
        vhost.CopyFrom(new.virtual_host)
        adapt.localize_virtual_host(vhost)
        envoy.stage_routes(routes[name])
        return name, False
    if plan.shape == "consolidated":
        chain = listener.filter_chains[adapt.shared_chain_index(listener, new.chain)]
        adapt.add_host_to_chain(chain, new.host)
    elif envoy.over_ads:
        listener.filter_chains.append(adapt.localize_chain(new.chain, ads_routes=()))
    else:
        listener.filter_chains.append(
            adapt.localize_chain(new.chain, dynamic_secrets=envoy.dynamic_secret_paths())
        )
    envoy.stage_listener(listener)
    return "", True


def _activate(
    envoy: LocalEnvoy,
    plan: CasePlan,
    listener: listener_pb2.Listener,
    routes: dict[str, route_pb2.RouteConfiguration],
    new: NewHost,
    timeout: float,
    counters: _Counters,
) -> _Step:
    """Add ``new`` the shape's way: seconds until the host answers, Envoy CPU seconds, and
    bytes delivered."""
    expected = plan.expected_der[new.credential]
    route_name, listener_changed = _stage_activation(envoy, plan, listener, routes, new)
    sent_before = envoy.bytes_sent()
    window = _CpuWindow(envoy)
    if envoy.over_ads:
        start = envoy.commit()
    elif listener_changed:
        start = envoy.commit_listener()
    else:
        start = envoy.commit_routes(route_name)
    if listener_changed:
        counters.pending_updates += 1
    elapsed, _ = envoy.wait_for(
        new.host, start=start, timeout_s=timeout, accept=_serves(new.host, expected)
    )
    cpu, clock = window.close()
    envoy.wait_synced(timeout)
    sent = envoy.bytes_sent() - sent_before
    # admin runs on Envoy's main thread: this read also waits for the rest of the update's
    # main-thread work, so repeats do not overlap
    counters.record(envoy.admin.listener_manager())
    return _Step(elapsed, cpu, sent, clock)


def _rotate(
    envoy: LocalEnvoy,
    plan: CasePlan,
    pair: CertificateKeyPair,
    timeout: float,
    counters: _Counters,
) -> float:
    """Deliver a renewed certificate by SDS under the same secret name; time it until a
    handshake serves it. The listener must not change."""
    assert plan.rotation is not None
    host = plan.rotation.hosts[0]
    envoy.stage_secret(plan.rotation.credential, pair)
    start = envoy.commit_secret(plan.rotation.credential)
    elapsed, _ = envoy.wait_for(
        host,
        start=start,
        timeout_s=timeout,
        accept=_serves(host, leaf_der(pair)),
        what="certificate rotation",
    )
    envoy.wait_synced(timeout)
    counters.record(envoy.admin.listener_manager())
    return elapsed


def _route_for(
    listener: listener_pb2.Listener, routes: dict[str, route_pb2.RouteConfiguration]
) -> str:
    """The RDS route configuration of the ``*.<domain>`` chain (the first one served by RDS)."""
    for chain in listener.filter_chains:
        manager = adapt.connection_manager(chain)
        name = str(manager.rds.route_config_name)
        if manager.WhichOneof("route_specifier") == "rds" and name in routes:
            return name
    return next(iter(routes))


def transports_from_option(values: Sequence[str]) -> tuple[str, ...]:
    """``--transport`` values (repeatable) -> transports; none given: ``auto``."""
    chosen = tuple(dict.fromkeys(values)) or (AUTO,)
    check_options([1], [], "pb", 1, chosen)
    return chosen


def shapes_from_option(shape: str) -> list[Shape]:
    """``all`` -> every shape; else the one named."""
    if shape == "all":
        return list(SHAPES)
    for known in SHAPES:
        if known == shape:
            return [known]
    raise InputError(f"unknown shape {shape!r}; one of {', '.join(SHAPES)}, all", field="--shape")


def ingresses_in_order(values: Iterable[int]) -> list[int]:
    """Distinct N values in the order given."""
    return list(dict.fromkeys(values))
