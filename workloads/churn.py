"""Churn: the single-object changes whose cost the incremental hot paths measure.

What a gateway sees when one user acts on a cluster of N Ingresses (the ``ingress_update``
scenario): App Launchpad adds an Ingress (a new public port or app), deletes one, edits a
path or a backend port, or cert-manager renews a custom domain's certificate (new
``tls.crt``/``tls.key`` in the same Secret; or, with ``rename=True``, a new Secret name the
Ingress then points to, as when a Certificate's ``spec.secretName`` changes).

Every operation returns a *new* :class:`~workloads.model.Workload` (the input is never
mutated; unchanged objects are shared, changed ones are deep copies) and a small frozen
dataclass describing the change. The target is chosen deterministically from ``seed``.
Cost: O(N) to copy the lists and find a target.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from kubernetes.client import V1Ingress, V1Secret

from gwbench.errors import InputError
from gwbench.workloads import certs
from gwbench.workloads.generate import PORTS, IngressFactory, Producer
from gwbench.workloads.model import WILDCARD_SECRET, Workload
from gwbench.workloads.validate import TLS_SECRET_TYPE


@dataclass(frozen=True)
class IngressAdded:
    namespace: str
    name: str
    host: str
    secret_name: str
    index: int  # position of the new Ingress in ``workload.ingresses`` (the last)


@dataclass(frozen=True)
class IngressDeleted:
    namespace: str
    name: str
    hosts: tuple[str, ...]
    index: int  # position it had in the old ``workload.ingresses``


@dataclass(frozen=True)
class IngressChanged:
    namespace: str
    name: str
    host: str
    field: str  # e.g. spec.rules[0].http.paths[0].path
    before: str
    after: str
    index: int


@dataclass(frozen=True)
class CertificateRotated:
    namespace: str
    old_secret: str
    new_secret: str  # == old_secret unless renamed
    hosts: tuple[str, ...]
    renamed: bool


Change = IngressAdded | IngressDeleted | IngressChanged | CertificateRotated


def _rng(operation: str, seed: int) -> random.Random:
    return random.Random(f"gwbench-churn:{operation}:{seed}")


def _copy(workload: Workload, ingresses: list[V1Ingress], secrets: list[V1Secret]) -> Workload:
    return dataclasses.replace(
        workload, ingresses=ingresses, secrets=secrets, warnings=list(workload.warnings)
    )


def _namespace(obj: V1Ingress | V1Secret) -> str:
    return (obj.metadata.namespace if obj.metadata else None) or "default"


def _name(obj: V1Ingress | V1Secret) -> str:
    return (obj.metadata.name if obj.metadata else None) or ""


def _hosts(ingress: V1Ingress) -> list[str]:
    rules = ingress.spec.rules if ingress.spec else None
    return [rule.host for rule in rules or [] if rule.host]


def _with_changed(
    workload: Workload, index: int, ingress: V1Ingress, field: str, before: str, after: str
) -> tuple[Workload, IngressChanged]:
    """``workload`` with its Ingress at ``index`` replaced by ``ingress``, and the change."""
    ingresses = list(workload.ingresses)
    ingresses[index] = ingress
    change = IngressChanged(
        _namespace(ingress), _name(ingress), _hosts(ingress)[0], field, before, after, index
    )
    return _copy(workload, ingresses, list(workload.secrets)), change


def _require(workload: Workload, what: str) -> None:
    if not workload.ingresses:
        raise InputError(f"cannot {what}: the workload has no Ingress")


def add_ingress(
    workload: Workload, seed: int = 0, *, custom_domain: bool = False
) -> tuple[Workload, IngressAdded]:
    """A new App Launchpad Ingress with a new unique host, in an existing namespace."""
    _require(workload, "add an Ingress")
    rng = _rng("add", seed)
    cert_seed = workload.spec.seed if workload.spec is not None else seed
    factory = IngressFactory(
        rng,
        workload.domain,
        cert_seed,
        used_hosts={h for ingress in workload.ingresses for h in _hosts(ingress)},
        used_names={(_namespace(i), _name(i)) for i in workload.ingresses},
    )
    namespace = _namespace(workload.ingresses[rng.randrange(len(workload.ingresses))])
    app, _ = factory.new_app(Producer.LAUNCHPAD)
    port = factory.app_ports(Producer.LAUNCHPAD, "", 1)[0]
    ingress, secret = factory.ingress(
        Producer.LAUNCHPAD, namespace, app, port, custom=custom_domain
    )
    secrets = list(workload.secrets)
    if secret is not None:
        secrets.append(secret)
    elif (namespace, WILDCARD_SECRET) not in {(_namespace(s), _name(s)) for s in secrets}:
        secrets.append(factory.wildcard_secret(namespace))
    ingresses = [*workload.ingresses, ingress]
    assert ingress.spec is not None and ingress.spec.tls
    change = IngressAdded(
        namespace=namespace,
        name=_name(ingress),
        host=_hosts(ingress)[0],
        secret_name=ingress.spec.tls[0].secret_name or "",
        index=len(ingresses) - 1,
    )
    return _copy(workload, ingresses, secrets), change


def find_ingress(workload: Workload, namespace: str, name: str) -> int | None:
    """Position of the Ingress ``namespace/name`` in ``workload.ingresses`` (None: absent)."""
    for i, ingress in enumerate(workload.ingresses):
        if _name(ingress) == name and _namespace(ingress) == namespace:
            return i
    return None


def delete_ingress(
    workload: Workload, seed: int = 0, *, index: int | None = None
) -> tuple[Workload, IngressDeleted]:
    """One Ingress removed (the one at ``index``, else one chosen by ``seed``). Its Secret
    stays (cert-manager does not delete Secrets)."""
    _require(workload, "delete an Ingress")
    if index is None:
        index = _rng("delete", seed).randrange(len(workload.ingresses))
    ingress = workload.ingresses[index]
    ingresses = workload.ingresses[:index] + workload.ingresses[index + 1 :]
    change = IngressDeleted(_namespace(ingress), _name(ingress), tuple(_hosts(ingress)), index)
    return _copy(workload, ingresses, list(workload.secrets)), change


def _pick_routed(workload: Workload, operation: str, seed: int, index: int | None = None) -> int:
    candidates = [
        i
        for i, ingress in enumerate(workload.ingresses)
        if ingress.spec
        and ingress.spec.rules
        and ingress.spec.rules[0].host
        and ingress.spec.rules[0].http
        and ingress.spec.rules[0].http.paths
    ]
    if not candidates:
        raise InputError(f"cannot {operation}: no Ingress has a host with paths")
    if index is not None:
        if index not in candidates:
            ingress = workload.ingresses[index]
            raise InputError(
                f"cannot {operation}: Ingress {_namespace(ingress)}/{_name(ingress)} has no "
                "host with paths"
            )
        return index
    return candidates[_rng(operation, seed).randrange(len(candidates))]


def change_path(
    workload: Workload, seed: int = 0, *, index: int | None = None
) -> tuple[Workload, IngressChanged]:
    """The first path of one Ingress (at ``index``, else chosen by ``seed``) changed (``/``
    becomes ``/app``, anything else ``/``)."""
    _require(workload, "change a path")
    index = _pick_routed(workload, "change a path", seed, index)
    ingress = workload.ingresses[index].model_copy(deep=True)
    assert ingress.spec and ingress.spec.rules and ingress.spec.rules[0].http
    path = ingress.spec.rules[0].http.paths[0]
    before = path.path or ""
    after = "/app" if before == "/" else "/"
    path.path = after
    if after == "/" and ingress.metadata and ingress.metadata.annotations:
        ingress.metadata.annotations.pop("nginx.ingress.kubernetes.io/rewrite-target", None)
    return _with_changed(
        workload, index, ingress, "spec.rules[0].http.paths[0].path", before, after
    )


def change_backend(
    workload: Workload, seed: int = 0, *, index: int | None = None
) -> tuple[Workload, IngressChanged]:
    """The backend port of one Ingress's first path (at ``index``, else chosen by ``seed``)
    changed to another common port."""
    _require(workload, "change a backend")
    rng = _rng("change a backend", seed)
    index = _pick_routed(workload, "change a backend", seed, index)
    ingress = workload.ingresses[index].model_copy(deep=True)
    assert ingress.spec and ingress.spec.rules and ingress.spec.rules[0].http
    service = ingress.spec.rules[0].http.paths[0].backend.service
    if service is None or service.port is None:
        raise InputError(f"cannot change a backend: Ingress {_name(ingress)} has no service port")
    before = service.port.number
    choices = [port for port, _ in PORTS if port != before]
    after = rng.choice(choices)
    service.port.number = after
    field = "spec.rules[0].http.paths[0].backend.service.port.number"
    return _with_changed(workload, index, ingress, field, str(before), str(after))


def rotate_certificate(
    workload: Workload,
    seed: int = 0,
    *,
    rename: bool = False,
    secret: tuple[str, str] | None = None,
) -> tuple[Workload, CertificateRotated]:
    """A custom domain's certificate renewed: new key and certificate for the same hosts.

    ``secret`` (namespace, name) names the Secret to renew; by default one in use is chosen
    by ``seed``. ``rename=True`` also gives the Secret a new name and points the Ingresses
    that named the old one at it (the old Secret is replaced in the list).
    """
    referenced: dict[tuple[str, str], list[int]] = {}
    for i, ingress in enumerate(workload.ingresses):
        for tls in ingress.spec.tls or [] if ingress.spec else []:
            if tls.secret_name and tls.secret_name != WILDCARD_SECRET:
                referenced.setdefault((_namespace(ingress), tls.secret_name), []).append(i)
    candidates = [
        i
        for i, secret in enumerate(workload.secrets)
        if secret.type == TLS_SECRET_TYPE and (_namespace(secret), _name(secret)) in referenced
    ]
    if not candidates:
        raise InputError("cannot rotate a certificate: no custom-domain TLS Secret is in use")
    rng = _rng("rotate", seed)
    secret_index = candidates[rng.randrange(len(candidates))]
    if secret is not None:
        named = [
            i
            for i in candidates
            if (_namespace(workload.secrets[i]), _name(workload.secrets[i])) == secret
        ]
        if not named:
            raise InputError(
                f"cannot rotate a certificate: Secret {secret[0]}/{secret[1]} is not a "
                "custom-domain TLS Secret in use"
            )
        secret_index = named[0]
    old = workload.secrets[secret_index]
    namespace, old_name = _namespace(old), _name(old)
    users = referenced[(namespace, old_name)]
    hosts = tuple(
        dict.fromkeys(
            host
            for i in users
            for tls in workload.ingresses[i].spec.tls or []  # type: ignore[union-attr]
            if tls.secret_name == old_name
            for host in tls.hosts or []
        )
    )
    if not hosts:
        hosts = tuple(h for i in users for h in _hosts(workload.ingresses[i]))
    new_name = f"{old_name}-{rng.randrange(16**6):06x}" if rename else old_name
    cert_pem, key_pem = certs.make_certificate(list(hosts), rng.randrange(2**31))
    new = old.model_copy(deep=True)
    assert new.metadata is not None
    new.metadata.name = new_name
    new.data = {**certs.tls_secret_data(cert_pem, key_pem)}
    secrets = list(workload.secrets)
    secrets[secret_index] = new
    ingresses = list(workload.ingresses)
    if rename:
        for i in users:
            ingress = ingresses[i].model_copy(deep=True)
            for tls in ingress.spec.tls or [] if ingress.spec else []:
                if tls.secret_name == old_name:
                    tls.secret_name = new_name
            ingresses[i] = ingress
    change = CertificateRotated(namespace, old_name, new_name, hosts, rename)
    return _copy(workload, ingresses, secrets), change
