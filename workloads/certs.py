"""Real, deterministic TLS certificates for generated workloads (``cryptography``).

What a Sealos cluster holds: one wildcard certificate for the cloud domain (``<domain>`` and
``*.<domain>``, the ``wildcard-cert`` Secret every subdomain Ingress names) and one
certificate per custom domain (issued by cert-manager into a Secret named after the Ingress).
Here they are self-signed EC P-256 certificates: small and fast to make (about 0.15 ms each),
and real enough for Envoy to load and complete a TLS handshake with.

Everything is derived from a seed: the private key is ``ec.derive_private_key`` of a hash of
the seed and the host names, the serial number comes from the same hash, the validity dates
are fixed and the ECDSA signature is deterministic (RFC 6979), so the same seed gives the same
PEM bytes on every run and machine.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Order of the P-256 group: a private scalar must be in [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

# Fixed validity so that the bytes never depend on the clock; long enough for any test run.
NOT_VALID_BEFORE = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
NOT_VALID_AFTER = datetime.datetime(2045, 1, 1, tzinfo=datetime.UTC)

TLS_CERT_KEY = "tls.crt"
TLS_KEY_KEY = "tls.key"
TLS_SECRET_TYPE = "kubernetes.io/tls"


def _digest(hosts: Sequence[str], seed: int, purpose: str) -> bytes:
    material = f"gwbench-cert:{purpose}:{seed}:{','.join(hosts)}".encode()
    return hashlib.sha256(material).digest()


def make_certificate(hosts: Sequence[str], seed: int) -> tuple[bytes, bytes]:
    """A self-signed EC P-256 server certificate for ``hosts``: ``(cert_pem, key_pem)``.

    The first host is the subject common name; all hosts are DNS subject alternative names.
    The same hosts and seed always give the same bytes.
    """
    if not hosts:
        raise ValueError("a certificate needs at least one host")
    scalar = int.from_bytes(_digest(hosts, seed, "key"), "big") % (_P256_ORDER - 1) + 1
    key = ec.derive_private_key(scalar, ec.SECP256R1())
    serial = int.from_bytes(_digest(hosts, seed, "serial")[:19], "big") | 1
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0][:64])])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOT_VALID_BEFORE)
        .not_valid_after(NOT_VALID_AFTER)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem


@functools.lru_cache(maxsize=32)
def wildcard_certificate(domain: str, seed: int) -> tuple[bytes, bytes]:
    """The cloud domain's certificate (``<domain>`` and ``*.<domain>``), made once per process."""
    return make_certificate([domain, f"*.{domain}"], seed)


def tls_secret_data(cert_pem: bytes, key_pem: bytes) -> dict[str, str]:
    """The ``data`` of a ``kubernetes.io/tls`` Secret: base64 ``tls.crt`` and ``tls.key``."""
    return {
        TLS_CERT_KEY: base64.b64encode(cert_pem).decode("ascii"),
        TLS_KEY_KEY: base64.b64encode(key_pem).decode("ascii"),
    }


@functools.lru_cache(maxsize=32)
def _wildcard_secret_data(domain: str, seed: int) -> tuple[tuple[str, str], ...]:
    return tuple(tls_secret_data(*wildcard_certificate(domain, seed)).items())


def wildcard_secret_data(domain: str, seed: int) -> dict[str, str]:
    """Secret data of the wildcard certificate (computed once, a fresh dict per call)."""
    return dict(_wildcard_secret_data(domain, seed))
