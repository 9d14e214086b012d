"""Certificates for the SDS secrets a translated listener names, and rotated replacements.

An SDS name from the translation is Higress's credential name
``kubernetes-ingress://<cluster>/<namespace>/<secret>``; the certificate comes from the
workload's ``kubernetes.io/tls`` Secret of that namespace and name. The wildcard fallback
(``higress-system/wildcard-cert``, Higress's ``fallbackForInvalidSecret``) and a Secret the
workload does not hold (the user's manifests may leave them out) get a certificate made by
:mod:`workloads.certs` for the hosts that use it, so a local Envoy can always load the listener.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gwbench.harness.envoy.bootstrap import CertificateKeyPair
from gwbench.workloads import certs
from gwbench.workloads.model import WILDCARD_SECRET, Workload

CREDENTIAL_PREFIX = "kubernetes-ingress://"
ROTATION_SEED_OFFSET = 1_000_003


def credential_secret(credential: str) -> tuple[str, str] | None:
    """``kubernetes-ingress://<cluster>/<ns>/<name>`` -> (ns, name); None for other names."""
    if not credential.startswith(CREDENTIAL_PREFIX):
        return None
    parts = credential[len(CREDENTIAL_PREFIX) :].split("/")
    if len(parts) != 3:
        return None
    return parts[1], parts[2]


def _pair_from_secret_data(data: Mapping[str, str | bytes] | None) -> CertificateKeyPair | None:
    if not data or certs.TLS_CERT_KEY not in data or certs.TLS_KEY_KEY not in data:
        return None
    return CertificateKeyPair(
        cert_pem=base64.b64decode(data[certs.TLS_CERT_KEY]),
        key_pem=base64.b64decode(data[certs.TLS_KEY_KEY]),
    )


def certificates(
    workload: Workload, hosts_by_credential: Mapping[str, Iterable[str]], seed: int
) -> dict[str, CertificateKeyPair]:
    """Credential name -> certificate, for every credential in ``hosts_by_credential``."""
    by_key: dict[tuple[str, str], CertificateKeyPair] = {}
    wildcard: CertificateKeyPair | None = None
    for secret in workload.secrets:
        meta = secret.metadata
        pair = _pair_from_secret_data(secret.data)
        if meta is None or pair is None:
            continue
        by_key[(meta.namespace or "default", meta.name or "")] = pair
        if meta.name == WILDCARD_SECRET and wildcard is None:
            wildcard = pair
    result: dict[str, CertificateKeyPair] = {}
    for credential, hosts in hosts_by_credential.items():
        key = credential_secret(credential)
        pair = by_key.get(key) if key is not None else None
        if pair is None and key is not None and key[1] == WILDCARD_SECRET:
            if wildcard is None:
                wildcard = CertificateKeyPair(*certs.wildcard_certificate(workload.domain, seed))
            pair = wildcard
        if pair is None:
            names = sorted(h for h in hosts if h) or [credential.rsplit("/", 1)[-1]]
            pair = CertificateKeyPair(*certs.make_certificate(names, seed))
        result[credential] = pair
    return result


def rotated(hosts: Iterable[str], seed: int, generation: int) -> CertificateKeyPair:
    """A new certificate (new key) for ``hosts``: what cert-manager renews into the Secret."""
    names = sorted(hosts)
    return CertificateKeyPair(
        *certs.make_certificate(names, seed + ROTATION_SEED_OFFSET * (generation + 1))
    )


def leaf_der(pair: CertificateKeyPair) -> bytes:
    """DER of the leaf certificate, as ``SSLSocket.getpeercert(binary_form=True)`` returns it."""
    cert = x509.load_pem_x509_certificate(pair.cert_pem)
    return cert.public_bytes(serialization.Encoding.DER)
