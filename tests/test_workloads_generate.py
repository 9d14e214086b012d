"""The generator follows docs/workload.md, deterministically; certificates are real;
churn is pure."""

from __future__ import annotations

import base64
import re
import statistics
from collections import Counter

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from kubernetes.client import V1Ingress

from gwbench.errors import InputError
from gwbench.workloads import certs, churn, yamlio
from gwbench.workloads.generate import (
    CSP_VALUE,
    DEFAULT_EDGE_CASES,
    HIGRESS_HEADER_UPDATE,
    LABEL_APP,
    LABEL_DEVBOX,
    NGINX,
    NO_EDGE_CASES,
    REWRITE_PATH,
    SERVER_SNIPPET,
    EdgeCaseRates,
    generate,
)
from gwbench.workloads.model import WILDCARD_SECRET, Workload, WorkloadSpec

N = 5000
DOMAIN = "cloud.example.com"
LISTED_PORTS = {3000, 80, 8080, 8000, 5000, 5001, 9000, 8888}


@pytest.fixture(scope="module")
def big() -> Workload:
    return generate(WorkloadSpec(N, seed=11))


def producer_of(ingress: V1Ingress) -> str:
    meta = ingress.metadata
    assert meta is not None and meta.name
    name = meta.name.removesuffix("-redirect")
    labels = meta.labels or {}
    if name.startswith("terminal-"):
        return "terminal"
    if LABEL_DEVBOX in labels:
        return "devbox"
    if name.startswith("network-"):
        return "applaunchpad"
    return "template"


def host_of(ingress: V1Ingress) -> str:
    assert ingress.spec is not None and ingress.spec.rules
    return ingress.spec.rules[0].host or ""


def annotations_of(ingress: V1Ingress) -> dict[str, str]:
    assert ingress.metadata is not None
    return dict(ingress.metadata.annotations or {})


def is_redirect(ingress: V1Ingress) -> bool:
    return NGINX + "permanent-redirect" in annotations_of(ingress)


def regular(workload: Workload) -> list[V1Ingress]:
    """Ingresses that are neither edge cases nor custom domains."""
    return [
        i
        for i in workload.ingresses
        if host_of(i).endswith("." + DOMAIN)
        and not host_of(i).startswith("*.")
        and not is_redirect(i)
        and i.spec is not None
        and i.spec.tls
        and i.spec.tls[0].secret_name == WILDCARD_SECRET
    ]


# -- determinism -------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_differs() -> None:
    # GIVEN two generations with the same spec and one with another seed
    first = yamlio.dump(generate(WorkloadSpec(400, seed=5)))
    second = yamlio.dump(generate(WorkloadSpec(400, seed=5)))
    other = yamlio.dump(generate(WorkloadSpec(400, seed=6)))
    # THEN the same seed repeats byte for byte, certificates included; another seed differs
    assert first == second
    assert first != other
    assert "tls.crt" in first


def test_exactly_n_ingresses_and_valid_dns_names(big: Workload) -> None:
    assert len(big.ingresses) == N
    for ingress in big.ingresses:
        assert ingress.api_version == "networking.k8s.io/v1" and ingress.kind == "Ingress"
        meta = ingress.metadata
        assert meta is not None and meta.name and meta.namespace
        assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", meta.name), meta.name
        assert len(meta.name) <= 63
        assert re.fullmatch(r"ns-[a-z0-9]{8}", meta.namespace)


def test_hosts_are_unique_except_the_shared_host_redirects(big: Workload) -> None:
    owners = Counter(host_of(i) for i in big.ingresses if host_of(i))
    shared = {h for h, n in owners.items() if n > 1}
    redirect_hosts = {host_of(i) for i in big.ingresses if is_redirect(i)}
    assert shared == redirect_hosts
    assert all(owners[h] == 2 for h in shared)
    # the Prefix owner comes first, so Higress's "first one wins" keeps it
    seen: set[str] = set()
    for ingress in big.ingresses:
        if is_redirect(ingress):
            assert host_of(ingress) in seen
        seen.add(host_of(ingress))


# -- distributions (docs/workload.md) ---------------------------------------------------------


def test_custom_domain_share_is_the_requested_share(big: Workload) -> None:
    custom = [i for i in big.ingresses if host_of(i) and not host_of(i).endswith(DOMAIN)]
    assert len(custom) == pytest.approx(0.05 * N, abs=1)
    twenty = generate(WorkloadSpec(1000, seed=2, custom_domain_share=0.2))
    custom20 = [i for i in twenty.ingresses if host_of(i) and not host_of(i).endswith(DOMAIN)]
    assert len(custom20) == pytest.approx(200, abs=1)
    none = generate(WorkloadSpec(1000, seed=2, custom_domain_share=0.0))
    assert all(host_of(i).endswith(DOMAIN) for i in none.ingresses if host_of(i))


def test_each_custom_domain_has_its_own_secret_named_after_the_ingress(big: Workload) -> None:
    secrets = {(s.metadata.namespace, s.metadata.name): s for s in big.secrets if s.metadata}
    for ingress in big.ingresses:
        host = host_of(ingress)
        if not host or host.endswith(DOMAIN):
            continue
        assert ingress.spec is not None and ingress.spec.tls and ingress.metadata is not None
        tls = ingress.spec.tls[0]
        assert tls.hosts == [host]
        assert tls.secret_name == ingress.metadata.name
        secret = secrets[(ingress.metadata.namespace, ingress.metadata.name)]
        cert = x509.load_pem_x509_certificate(base64.b64decode(secret.data["tls.crt"]))
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sans.get_values_for_type(x509.DNSName) == [host]


def test_producer_mix(big: Workload) -> None:
    mix = Counter(producer_of(i) for i in big.ingresses)
    assert mix["applaunchpad"] / N == pytest.approx(0.65, abs=0.035)
    assert mix["template"] / N == pytest.approx(0.25, abs=0.03)
    assert mix["devbox"] / N == pytest.approx(0.07, abs=0.02)
    assert mix["terminal"] / N == pytest.approx(0.03, abs=0.012)


def test_ingresses_per_namespace_about_three(big: Workload) -> None:
    per_namespace = Counter(i.metadata.namespace for i in big.ingresses if i.metadata)
    assert 2.5 <= N / len(per_namespace) <= 3.6


def test_paths_per_host_and_path_types_of_templates(big: Workload) -> None:
    templates = [i for i in regular(big) if producer_of(i) == "template"]
    counts = Counter(len(i.spec.rules[0].http.paths) for i in templates)  # type: ignore[union-attr]
    total = len(templates)
    assert counts[1] / total == pytest.approx(0.95, abs=0.02)
    assert counts[2] / total == pytest.approx(0.03, abs=0.015)
    assert set(counts) <= {1, 2, 3, 4, 9}
    types = Counter(
        p.path_type
        for i in templates
        for p in i.spec.rules[0].http.paths  # type: ignore[union-attr]
    )
    exact = types["Exact"] / sum(types.values())
    assert 0.015 <= exact <= 0.05
    assert set(types) == {"Prefix", "Exact"}
    # Exact paths are redirect helpers on "/"
    for ingress in templates:
        for path in ingress.spec.rules[0].http.paths:  # type: ignore[union-attr]
            if path.path_type == "Exact":
                assert path.path == "/"


def test_code_built_ingresses_have_one_prefix_root_path(big: Workload) -> None:
    for ingress in regular(big):
        if producer_of(ingress) == "template":
            continue
        paths = ingress.spec.rules[0].http.paths  # type: ignore[union-attr]
        assert [(p.path, p.path_type) for p in paths] == [("/", "Prefix")]


def test_rewrite_paths_carry_rewrite_target(big: Workload) -> None:
    templates = [i for i in regular(big) if producer_of(i) == "template"]
    rewrites = 0
    for ingress in templates:
        paths = [p.path for p in ingress.spec.rules[0].http.paths]  # type: ignore[union-attr]
        has_target = annotations_of(ingress).get(NGINX + "rewrite-target") == "/$2"
        assert (REWRITE_PATH in paths) == has_target
        rewrites += has_target
    assert rewrites / len(templates) == pytest.approx(0.25, abs=0.05)


def test_code_built_annotation_sets(big: Workload) -> None:
    by_protocol: dict[str, set[int]] = {}
    for ingress in regular(big):
        annotations = annotations_of(ingress)
        assert annotations["kubernetes.io/ingress.class"] == "nginx"
        producer = producer_of(ingress)
        if producer == "terminal":
            assert len(annotations) == 9
            assert annotations[NGINX + "proxy-read-timeout"] == "86400"
        elif producer in ("applaunchpad", "devbox"):
            protocol = annotations[NGINX + "backend-protocol"]
            by_protocol.setdefault(protocol, set()).add(len(annotations))
            if protocol == "HTTP":
                assert annotations[NGINX + "server-snippet"] == SERVER_SNIPPET
                assert SERVER_SNIPPET.count("\n") == 2
            if protocol == "WS":
                assert annotations[NGINX + "proxy-send-timeout"] == "3600"
    assert by_protocol == {"HTTP": {8}, "GRPC": {3}, "WS": {5}}


def test_template_annotations_median_ten_at_most_fifteen(big: Workload) -> None:
    templates = [i for i in regular(big) if producer_of(i) == "template"]
    sizes = [len(annotations_of(i)) for i in templates]
    assert statistics.median(sizes) == 10
    assert max(sizes) <= 15
    with_csp = [i for i in templates if HIGRESS_HEADER_UPDATE in annotations_of(i)]
    assert 0 < len(with_csp) / len(templates) < 0.08
    assert 900 <= len(CSP_VALUE) <= 1200
    protocols = Counter(
        annotations_of(i).get(NGINX + "backend-protocol", "none") for i in templates
    )
    assert protocols["HTTP"] / len(templates) == pytest.approx(0.88, abs=0.03)
    assert protocols["none"] / len(templates) == pytest.approx(0.09, abs=0.025)


def test_names_hosts_labels_by_producer(big: Workload) -> None:
    patterns = {
        "applaunchpad": (r"network-[a-z]{12}", r"[a-z]{12}\." + re.escape(DOMAIN)),
        "devbox": (r"[a-z-]+-[a-z0-9]{4}-[a-z]{12}", r"[a-z]{12}\." + re.escape(DOMAIN)),
        "terminal": (r"terminal-[a-z0-9]{8}", r"t[a-z0-9]{8}\." + re.escape(DOMAIN)),
        "template": (
            r"[a-z0-9-]+-[a-z0-9]{8}(-[a-z]+)?",
            r"[a-z0-9-]+-[a-z0-9]{8}\." + re.escape(DOMAIN),
        ),
    }
    for ingress in regular(big):
        producer = producer_of(ingress)
        name_re, host_re = patterns[producer]
        assert ingress.metadata is not None
        assert re.fullmatch(name_re, ingress.metadata.name or ""), ingress.metadata.name
        assert re.fullmatch(host_re, host_of(ingress)), host_of(ingress)
        labels = ingress.metadata.labels or {}
        if producer in ("applaunchpad", "template"):
            assert LABEL_APP in labels
            assert (
                labels["cloud.sealos.io/app-deploy-manager-domain"]
                == host_of(ingress).split(".")[0]
            )


def test_backends_are_service_name_and_listed_port(big: Workload) -> None:
    for ingress in big.ingresses:
        assert ingress.spec is not None
        assert ingress.spec.default_backend is None and ingress.spec.ingress_class_name is None
        for path in ingress.spec.rules[0].http.paths:  # type: ignore[index,union-attr]
            service = path.backend.service
            assert service is not None and service.name and service.port is not None
            assert service.port.name is None and service.port.number in LISTED_PORTS


def test_wildcard_secret_in_every_namespace_that_names_it(big: Workload) -> None:
    wildcard = [s for s in big.secrets if s.metadata and s.metadata.name == WILDCARD_SECRET]
    namespaces = {
        i.metadata.namespace
        for i in big.ingresses
        if i.metadata and i.spec and i.spec.tls and i.spec.tls[0].secret_name == WILDCARD_SECRET
    }
    assert {s.metadata.namespace for s in wildcard if s.metadata} == namespaces
    assert len(wildcard) == len(namespaces)
    assert len({s.data["tls.crt"] for s in wildcard if s.data}) == 1  # one certificate
    for secret in big.secrets:
        assert secret.type == "kubernetes.io/tls" and secret.data is not None
        assert set(secret.data) == {"tls.crt", "tls.key"}


# -- edge cases --------------------------------------------------------------------------


def test_edge_cases_at_their_rates(big: Workload) -> None:
    rates = DEFAULT_EDGE_CASES
    hostless = [i for i in big.ingresses if not host_of(i)]
    assert len(hostless) == int(rates.hostless * N)
    assert all(i.spec is not None and i.spec.tls is None for i in hostless)
    wildcard = [i for i in big.ingresses if host_of(i).startswith("*.")]
    assert len(wildcard) == int(rates.wildcard_host * N)
    assert host_of(wildcard[0]) == f"*.{DOMAIN}"
    redirects = [i for i in big.ingresses if is_redirect(i)]
    assert len(redirects) == int(rates.shared_host_redirect * N)
    assert all(
        [(p.path, p.path_type) for p in i.spec.rules[0].http.paths]  # type: ignore[union-attr]
        == [("/", "Exact")]
        for i in redirects
    )
    tls_entries = [i.spec.tls[0] for i in big.ingresses if i.spec and i.spec.tls]
    assert sum(1 for t in tls_entries if t.secret_name is None) == int(rates.tls_without_secret * N)
    existing = {(s.metadata.namespace, s.metadata.name) for s in big.secrets if s.metadata}
    missing = [
        i
        for i in big.ingresses
        if i.spec
        and i.spec.tls
        and i.spec.tls[0].secret_name
        and (i.metadata.namespace, i.spec.tls[0].secret_name) not in existing  # type: ignore[union-attr]
    ]
    assert len(missing) == int(rates.missing_secret * N)


def test_small_n_has_no_edge_cases_and_they_can_be_turned_off() -> None:
    small = generate(WorkloadSpec(50, seed=1))
    assert all(host_of(i) and not is_redirect(i) for i in small.ingresses)
    off = generate(WorkloadSpec(2000, seed=1), edge_cases=NO_EDGE_CASES)
    assert all(host_of(i) and not host_of(i).startswith("*.") for i in off.ingresses)
    assert len({host_of(i) for i in off.ingresses}) == 2000


def test_edge_case_rates_are_bounded() -> None:
    with pytest.raises(ValueError, match="hostless"):
        EdgeCaseRates(hostless=0.02)


# -- YAML --------------------------------------------------------------------------------


def test_fast_wire_dicts_equal_the_kubernetes_client_sanitizer() -> None:
    workload = generate(WorkloadSpec(600, seed=4))
    for obj in (*workload.ingresses, *workload.secrets):
        assert yamlio.to_dict(obj) == yamlio.sanitize(obj)


def test_templated_dump_equals_the_plain_dump_of_every_document() -> None:
    # GIVEN a workload whose namespaces include YAML-ambiguous names ("yes", "123", "null")
    workload = generate(WorkloadSpec(400, seed=6), edge_cases=EdgeCaseRates(0.01, 0.01, 0.01))
    odd = ["yes", "123", "null", "0x1f", "ns-ok"]
    for ingress, namespace in zip(workload.ingresses[:5], odd, strict=True):
        ingress.metadata.namespace = namespace  # type: ignore[union-attr]
    for secret, namespace in zip(workload.secrets[:5], odd, strict=True):
        secret.metadata.namespace = namespace  # type: ignore[union-attr]
    # THEN rendering repeated documents from templates gives the bytes of one plain dump_all
    text = yamlio.dump(workload)
    assert text == yamlio.dump_reference(workload)
    assert "name: 'yes'" in text and "namespace: '123'" in text


def test_yaml_has_namespaces_first_and_literal_snippets() -> None:
    text = yamlio.dump(generate(WorkloadSpec(30, seed=2)))
    kinds = [line.split(": ")[1] for line in text.splitlines() if line.startswith("kind: ")]
    first_other = next(i for i, kind in enumerate(kinds) if kind != "Namespace")
    assert set(kinds[:first_other]) == {"Namespace"} and "Namespace" not in kinds[first_other:]
    assert "server-snippet: |\n      client_header_buffer_size 64k;\n" in text
    assert "&id" not in text and "*id" not in text  # no YAML anchors or aliases


# -- certificates ------------------------------------------------------------------------


def test_certificates_are_deterministic_real_p256() -> None:
    cert_pem, key_pem = certs.make_certificate(["www.shop.test"], 9)
    assert certs.make_certificate(["www.shop.test"], 9) == (cert_pem, key_pem)
    assert certs.make_certificate(["www.shop.test"], 10)[0] != cert_pem
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert cert.public_key() == key.public_key()
    wildcard = x509.load_pem_x509_certificate(certs.wildcard_certificate(DOMAIN, 1)[0])
    sans = wildcard.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [DOMAIN, f"*.{DOMAIN}"]


# -- churn -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base() -> Workload:
    return generate(WorkloadSpec(300, seed=8))


def test_churn_never_mutates_its_input(base: Workload) -> None:
    before = yamlio.dump(base)
    churn.add_ingress(base, 1)
    churn.delete_ingress(base, 1)
    churn.change_path(base, 1)
    churn.change_backend(base, 1)
    churn.rotate_certificate(base, 1, rename=True)
    assert yamlio.dump(base) == before


def test_add_ingress_new_unique_host_deterministic(base: Workload) -> None:
    after, change = churn.add_ingress(base, 3)
    again, _ = churn.add_ingress(base, 3)
    assert yamlio.dump(after) == yamlio.dump(again)
    assert len(after.ingresses) == len(base.ingresses) + 1
    assert change.host not in {host_of(i) for i in base.ingresses}
    assert host_of(after.ingresses[change.index]) == change.host
    assert change.secret_name == WILDCARD_SECRET
    custom, change2 = churn.add_ingress(base, 3, custom_domain=True)
    assert change2.secret_name == change2.name
    assert len(custom.secrets) == len(base.secrets) + 1


def test_delete_change_path_and_backend(base: Workload) -> None:
    after, deleted = churn.delete_ingress(base, 4)
    assert len(after.ingresses) == len(base.ingresses) - 1
    assert all(
        (i.metadata.namespace, i.metadata.name) != (deleted.namespace, deleted.name)  # type: ignore[union-attr]
        for i in after.ingresses
    )
    after, changed = churn.change_path(base, 4)
    path = after.ingresses[changed.index].spec.rules[0].http.paths[0]  # type: ignore[index,union-attr]
    assert path.path == changed.after != changed.before
    assert base.ingresses[changed.index].spec.rules[0].http.paths[0].path == changed.before  # type: ignore[index,union-attr]
    after, changed = churn.change_backend(base, 4)
    port = after.ingresses[changed.index].spec.rules[0].http.paths[0].backend.service.port  # type: ignore[index,union-attr]
    assert str(port.number) == changed.after != changed.before


def test_rotate_certificate_new_data_same_or_new_name(base: Workload) -> None:
    after, rotated = churn.rotate_certificate(base, 2)
    old = {(s.metadata.namespace, s.metadata.name): s.data for s in base.secrets}  # type: ignore[union-attr]
    new = {(s.metadata.namespace, s.metadata.name): s.data for s in after.secrets}  # type: ignore[union-attr]
    key = (rotated.namespace, rotated.old_secret)
    assert new[key] != old[key] and rotated.new_secret == rotated.old_secret
    cert = x509.load_pem_x509_certificate(base64.b64decode(new[key]["tls.crt"]))
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert tuple(sans.get_values_for_type(x509.DNSName)) == rotated.hosts
    renamed, change = churn.rotate_certificate(base, 2, rename=True)
    assert change.new_secret != change.old_secret
    names = [t.secret_name for i in renamed.ingresses for t in (i.spec.tls or [])]  # type: ignore[union-attr]
    assert change.new_secret in names and change.old_secret not in names


def test_rotation_needs_a_custom_certificate() -> None:
    plain = generate(WorkloadSpec(20, seed=1, custom_domain_share=0.0))
    with pytest.raises(InputError, match="no custom-domain TLS Secret"):
        churn.rotate_certificate(plain)
