"""Envoy bootstrap configurations for the local data plane and for config validation.

Models the bootstrap a gateway's Envoy starts from (``envoy.config.bootstrap.v3.Bootstrap``),
reduced to what gwbench needs on loopback: an admin endpoint on 127.0.0.1, listeners over
filesystem LDS (``path_config_source`` plus ``watched_directory``, the file replaced by
rename), and certificates as static SDS secrets referenced by name from each
DownstreamTlsContext. The validation bootstrap instead holds one listener statically, plus
the ADS cluster a gateway's bootstrap names, so ``envoy --mode validate`` checks the listener
exactly as the translation produced it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from envoy.config.bootstrap.v3 import bootstrap_pb2
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import config_source_pb2, grpc_service_pb2
from envoy.config.endpoint.v3 import endpoint_components_pb2, endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2

LOOPBACK = "127.0.0.1"
NODE_ID = "gwbench"
ADS_CLUSTER = "xds-grpc"


@dataclass(frozen=True)
class CertificateKeyPair:
    """A PEM certificate chain and its PEM private key (what a kubernetes.io/tls Secret holds)."""

    cert_pem: bytes
    key_pem: bytes


def tls_secret(name: str, pair: CertificateKeyPair) -> secret_pb2.Secret:
    """An SDS Secret holding a server certificate inline."""
    secret = secret_pb2.Secret(name=name)
    secret.tls_certificate.certificate_chain.inline_bytes = pair.cert_pem
    secret.tls_certificate.private_key.inline_bytes = pair.key_pem
    return secret


def file_config_source(path: Path) -> config_source_pb2.ConfigSource:
    """A filesystem subscription to ``path``, reloaded when a file is renamed into its folder."""
    source = config_source_pb2.ConfigSource(resource_api_version=config_source_pb2.V3)
    source.path_config_source.path = str(path)
    source.path_config_source.watched_directory.path = str(path.parent)
    return source


def _node(bootstrap: bootstrap_pb2.Bootstrap) -> None:
    bootstrap.node.id = NODE_ID
    bootstrap.node.cluster = NODE_ID


def _admin(bootstrap: bootstrap_pb2.Bootstrap, admin_port: int) -> None:
    address = bootstrap.admin.address.socket_address
    address.address = LOOPBACK
    address.port_value = admin_port


def local_bootstrap(
    lds_path: Path,
    secrets: Sequence[secret_pb2.Secret],
    *,
    admin_port: int = 0,
) -> bootstrap_pb2.Bootstrap:
    """Bootstrap of the measured Envoy: admin on loopback, filesystem LDS, static secrets.

    ``admin_port`` 0 lets the kernel pick a free port; Envoy reports it through
    ``--admin-address-path``, so two runs never collide.
    """
    bootstrap = bootstrap_pb2.Bootstrap()
    _node(bootstrap)
    _admin(bootstrap, admin_port)
    bootstrap.dynamic_resources.lds_config.CopyFrom(file_config_source(lds_path))
    bootstrap.static_resources.secrets.extend(secrets)
    return bootstrap


def _ads_cluster(port: int = 15010) -> cluster_pb2.Cluster:
    """The control plane cluster a gateway bootstrap points ADS at: HTTP/2 to 127.0.0.1."""
    cluster = cluster_pb2.Cluster(name=ADS_CLUSTER, type=cluster_pb2.Cluster.STATIC)
    cluster.connect_timeout.FromMilliseconds(1000)
    options = http_protocol_options_pb2.HttpProtocolOptions()
    options.explicit_http_config.http2_protocol_options.SetInParent()
    cluster.typed_extension_protocol_options[
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    ].Pack(options)
    endpoint = endpoint_components_pb2.LbEndpoint()
    socket = endpoint.endpoint.address.socket_address
    socket.address = LOOPBACK
    socket.port_value = port
    cluster.load_assignment.CopyFrom(
        endpoint_pb2.ClusterLoadAssignment(
            cluster_name=ADS_CLUSTER,
            endpoints=[endpoint_components_pb2.LocalityLbEndpoints(lb_endpoints=[endpoint])],
        )
    )
    return cluster


def _ads_config(bootstrap: bootstrap_pb2.Bootstrap, *, delta: bool) -> None:
    ads = bootstrap.dynamic_resources.ads_config
    ads.api_type = (
        config_source_pb2.ApiConfigSource.DELTA_GRPC
        if delta
        else config_source_pb2.ApiConfigSource.GRPC
    )
    ads.transport_api_version = config_source_pb2.V3
    ads.set_node_on_first_message_only = True
    ads.grpc_services.append(
        grpc_service_pb2.GrpcService(
            envoy_grpc=grpc_service_pb2.GrpcService.EnvoyGrpc(cluster_name=ADS_CLUSTER)
        )
    )


def ads_config_source() -> config_source_pb2.ConfigSource:
    """``{ads: {}, resource_api_version: V3}``: take this resource over the ADS stream."""
    source = config_source_pb2.ConfigSource(resource_api_version=config_source_pb2.V3)
    source.ads.SetInParent()
    return source


def ads_bootstrap(
    control_plane_port: int,
    *,
    delta: bool,
    admin_port: int = 0,
) -> bootstrap_pb2.Bootstrap:
    """Bootstrap of an Envoy fed by a control plane over ADS, as a gateway's: admin on
    loopback, ``ads_config`` (``GRPC`` for state of the world, ``DELTA_GRPC`` for
    incremental) on a static HTTP/2 cluster to 127.0.0.1:``control_plane_port``, and
    ``lds_config`` over ADS. Secrets and routes come over ADS as the listeners name them."""
    bootstrap = bootstrap_pb2.Bootstrap()
    _node(bootstrap)
    _admin(bootstrap, admin_port)
    _ads_config(bootstrap, delta=delta)
    bootstrap.dynamic_resources.lds_config.CopyFrom(ads_config_source())
    bootstrap.static_resources.clusters.append(_ads_cluster(control_plane_port))
    return bootstrap


def validation_bootstrap(
    listeners: Sequence[listener_pb2.Listener],
    secrets: Sequence[secret_pb2.Secret] = (),
) -> bootstrap_pb2.Bootstrap:
    """Bootstrap holding ``listeners`` statically, with ADS configured for their SDS and RDS.

    ``envoy --mode validate`` builds every listener, filter chain, transport socket and
    connection manager from it without opening sockets or contacting the control plane.
    """
    bootstrap = bootstrap_pb2.Bootstrap()
    _node(bootstrap)
    _admin(bootstrap, 0)
    _ads_config(bootstrap, delta=False)
    bootstrap.static_resources.clusters.append(_ads_cluster())
    bootstrap.static_resources.listeners.extend(listeners)
    bootstrap.static_resources.secrets.extend(secrets)
    return bootstrap
