"""A real xDS control plane on loopback: the gRPC Aggregated Discovery Service Envoy expects.

- ``snapshot``: the resources served, per type URL, each packed once with its own version;
- ``server``: :class:`~gwbench.harness.envoy.xds.server.ControlPlane`, a grpcio server speaking
  both transport variants (state of the world and incremental), with a version and a nonce per
  type, ACK/NACK, named and wildcard subscriptions, and the whole state sent again to an Envoy
  that reconnects.

Protocol reference: Envoy's "xDS REST and gRPC protocol" (docs/root/api-docs/xds_protocol.rst)
and ``envoy/service/discovery/v3/discovery.proto``.
"""
