"""Loading manifests and clusters: round trip, validation errors and warnings, cluster mocks."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from kubernetes.client import V1Ingress
from kubernetes.client.exceptions import ApiException

from gwbench.errors import InputError
from gwbench.workloads import loaders, yamlio
from gwbench.workloads.generate import EdgeCaseRates, generate
from gwbench.workloads.ingress import plain_ingress
from gwbench.workloads.model import WorkloadSpec

DATA = Path(__file__).parent / "data" / "manifests"
ALL_EDGE_CASES = EdgeCaseRates(0.01, 0.01, 0.01, 0.01, 0.01)


def fixture(name: str) -> str:
    return str(DATA / name)


# -- round trip --------------------------------------------------------------------------


def test_generate_dump_load_gives_equal_objects(tmp_path: Path) -> None:
    # GIVEN a generated workload with every edge case (1% each), written as YAML
    workload = generate(
        WorkloadSpec(1000, seed=21, custom_domain_share=0.1), edge_cases=ALL_EDGE_CASES
    )
    assert any((i.spec.rules[0].host or "").startswith("*.") for i in workload.ingresses)  # type: ignore[index,union-attr]
    text = yamlio.dump(workload)
    path = tmp_path / "w.yaml"
    path.write_text(text)
    # WHEN it is loaded back
    loaded = loaders.load_file(path)
    # THEN the objects are equal (as the kubernetes client serializes them), and so are bytes
    assert [yamlio.sanitize(i) for i in loaded.ingresses] == [
        yamlio.sanitize(i) for i in workload.ingresses
    ]
    assert [yamlio.sanitize(s) for s in loaded.secrets] == [
        yamlio.sanitize(s) for s in workload.secrets
    ]
    assert yamlio.dump(loaded) == text
    assert loaded.domain == workload.domain
    assert loaded.spec is None and loaded.source == str(path)


def test_generated_edge_cases_show_up_as_warnings(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(yamlio.dump(generate(WorkloadSpec(1000, seed=3))))
    warnings = "\n".join(loaders.load_file(path).warnings)
    assert "catch-all rule" in warnings
    assert "is already defined by" in warnings
    assert "fallbackForInvalidSecret" in warnings
    assert "which is not in the input" in warnings
    assert "not an Ingress" not in warnings  # Namespaces are expected companions


def test_kind_list_loads_its_items() -> None:
    workload = loaders.load_file(fixture("list_good.yaml"))
    assert [i.metadata.name for i in workload.ingresses] == ["one", "two"]  # type: ignore[union-attr]
    assert workload.warnings == []  # no Secrets in the input: missing ones are not guessed


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", open(fixture("mixed_kinds.yaml")))  # noqa: SIM115
    workload = loaders.load_file("-")
    assert workload.source == "stdin" and len(workload.ingresses) == 1


# -- errors: (fixture, document index, field, words in the message) ----------------------

ERRORS: list[tuple[str, int | None, str | None, str]] = [
    ("malformed.yaml", 1, None, "malformed YAML at line 14"),
    ("only_other_kinds.yaml", None, None, "no Ingress found (found only: 1 ConfigMap, 1 Service)"),
    ("missing_host.yaml", 1, "spec.rules", "missing host"),
    ("v1beta1.yaml", 1, "apiVersion", "extensions/v1beta1 is not supported"),
    ("unknown_api_version.yaml", 0, "apiVersion", "unknown Ingress apiVersion"),
    (
        "wrong_type.yaml",
        1,
        "spec.rules[0].http.paths[0].backend.service.port.number",
        "wrong type: Input should be a valid integer, got a string 'http'",
    ),
    ("unknown_field.yaml", 0, "spec.tls[0].secret", "unknown field 'secret'"),
    ("list_bad_item.yaml", 0, "items[1].spec.rules[0].host", "got an integer 42"),
    ("not_a_mapping.yaml", 1, None, "must be a mapping, got a list"),
]


@pytest.mark.parametrize(("name", "document", "field", "words"), ERRORS)
def test_bad_input_is_an_input_error_naming_file_document_field(
    name: str, document: int | None, field: str | None, words: str
) -> None:
    with pytest.raises(InputError) as caught:
        loaders.load_file(fixture(name))
    error = caught.value
    assert error.exit_code == 2
    assert error.file == fixture(name)
    assert error.document == document
    assert error.field == field
    assert words in str(error)
    assert str(error).startswith(fixture(name))


def test_missing_file_and_directory() -> None:
    with pytest.raises(InputError, match="no such file"):
        loaders.load_file(fixture("nope.yaml"))
    with pytest.raises(InputError, match="is a directory"):
        loaders.load_file(str(DATA))


def test_binary_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00kind")
    with pytest.raises(InputError, match="not UTF-8"):
        loaders.load_file(path)


# -- warnings ----------------------------------------------------------------------------


def test_other_kinds_are_skipped_with_a_warning() -> None:
    workload = loaders.load_file(fixture("mixed_kinds.yaml"))
    assert len(workload.ingresses) == 1
    assert workload.warnings == ["document 0: kind Service is not an Ingress: skipped"]


def test_duplicate_host_first_one_wins_with_a_warning() -> None:
    workload = loaders.load_file(fixture("duplicate_host.yaml"))
    assert len(workload.ingresses) == 2  # both kept: the later one still adds routes
    (warning,) = workload.warnings
    assert warning.startswith("document 1 (team-b/second): host shared.example.com")
    assert "document 0 (team-a/first)" in warning and "first one" in warning


def test_tls_without_secret_name_warns_of_the_fallback() -> None:
    workload = loaders.load_file(fixture("tls_without_secret.yaml"))
    (warning,) = workload.warnings
    assert "spec.tls[0].secretName is missing" in warning
    assert "fallbackForInvalidSecret" in warning
    from gwbench.workloads.validate import FALLBACK_SECRET, effective_secret_name

    tls = workload.ingresses[0].spec.tls[0]  # type: ignore[index,union-attr]
    assert effective_secret_name(tls) == FALLBACK_SECRET == "wildcard-cert"


def test_hostless_rule_and_missing_secret_warn() -> None:
    (hostless,) = loaders.load_file(fixture("hostless_rule.yaml")).warnings
    assert "spec.rules[0].host is empty: a catch-all rule" in hostless
    (missing,) = loaders.load_file(fixture("missing_secret.yaml")).warnings
    assert "names Secret absent, which is not in the input" in missing


def test_warnings_are_capped_per_kind(tmp_path: Path) -> None:
    docs = [f"apiVersion: v1\nkind: Service\nmetadata: {{name: s{i}}}\n" for i in range(30)] + [
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x}\n"
        "spec: {rules: [{host: x.example.com}]}\n"
    ]
    path = tmp_path / "many.yaml"
    path.write_text("---\n".join(docs))
    warnings = loaders.load_file(path).warnings
    assert len(warnings) == 21
    assert warnings[-1] == "... and 10 more warnings of this kind (not an Ingress)"


def test_domain_is_inferred_from_hosts() -> None:
    assert loaders.load_file(fixture("good_small.yaml")).domain == "cloud.test.io"
    assert loaders.load_file(fixture("good_small.yaml"), domain="x.io").domain == "x.io"


# -- cluster -----------------------------------------------------------------------------


def _ingress(namespace: str, name: str, host: str | None, secret: str | None) -> V1Ingress:
    ingress = plain_ingress(  # list items carry no apiVersion/kind
        name,
        host,
        namespace=namespace,
        service=name,
        secret=secret,
        tls=host is not None,
        annotations={"kubernetes.io/ingress.class": "nginx"},
        manifest=False,
    )
    ingress.metadata.managed_fields = []
    return ingress


class FakeNetworkingApi:
    """Two pages of Ingresses, like a paged list_ingress_for_all_namespaces."""

    pages: ClassVar[list[list[V1Ingress]]] = [
        [
            _ingress("ns-a", "one", "one.cloud.test", "wildcard-cert"),
            _ingress("ns-a", "two", "two.cloud.test", "wildcard-cert"),
        ],
        [
            _ingress("ns-b", "shop", "www.shop.com", "shop"),
            _ingress("ns-b", "catch", None, None),
        ],
    ]

    last: ClassVar[FakeNetworkingApi]

    def __init__(self, api_client: Any) -> None:
        self.calls: list[dict[str, Any]] = []
        FakeNetworkingApi.last = self

    def list_ingress_for_all_namespaces(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        page = 1 if kwargs.get("_continue") == "page-2" else 0
        token = "page-2" if page == 0 else None
        return SimpleNamespace(items=self.pages[page], metadata=SimpleNamespace(_continue=token))


@pytest.fixture
def fake_cluster(monkeypatch: pytest.MonkeyPatch) -> type[FakeNetworkingApi]:
    contexts = [{"name": "prod", "context": {}}, {"name": "staging", "context": {}}]
    monkeypatch.setattr(
        loaders.k8s_config, "list_kube_config_contexts", lambda: (contexts, contexts[0])
    )
    monkeypatch.setattr(
        loaders.k8s_config, "new_client_from_config", lambda context: f"client:{context}"
    )
    monkeypatch.setattr(loaders.k8s_client, "NetworkingV1Api", FakeNetworkingApi)
    return FakeNetworkingApi


def test_load_cluster_pages_and_keeps_only_secret_names(
    fake_cluster: type[FakeNetworkingApi],
) -> None:
    workload = loaders.load_cluster()
    assert workload.source == "cluster:prod"
    assert [i.metadata.name for i in workload.ingresses] == ["one", "two", "shop", "catch"]  # type: ignore[union-attr]
    assert all(i.api_version == "networking.k8s.io/v1" for i in workload.ingresses)
    assert all(i.metadata.managed_fields is None for i in workload.ingresses)  # type: ignore[union-attr]
    assert len(fake_cluster.last.calls) == 2
    assert fake_cluster.last.calls[1]["_continue"] == "page-2"
    stubs = {(s.metadata.namespace, s.metadata.name) for s in workload.secrets}  # type: ignore[union-attr]
    assert stubs == {("ns-a", "wildcard-cert"), ("ns-b", "shop")}
    assert all(s.data is None and s.string_data is None for s in workload.secrets)
    assert workload.domain == "cloud.test"
    assert any("catch-all" in w for w in workload.warnings)
    assert not any("not in the input" in w for w in workload.warnings)


def test_load_cluster_named_context(fake_cluster: type[FakeNetworkingApi]) -> None:
    assert loaders.load_cluster("staging").source == "cluster:staging"
    with pytest.raises(InputError, match="no context 'dev' in the kubeconfig"):
        loaders.load_cluster("dev")


def test_load_cluster_forbidden_is_an_input_error(
    fake_cluster: type[FakeNetworkingApi], monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(self: Any, **kwargs: Any) -> Any:
        raise ApiException(status=403, reason="Forbidden")

    monkeypatch.setattr(FakeNetworkingApi, "list_ingress_for_all_namespaces", forbidden)
    with pytest.raises(InputError, match="refused to list Ingresses: 403 Forbidden"):
        loaders.load_cluster()


def test_load_cluster_unreachable_is_an_input_error(
    fake_cluster: type[FakeNetworkingApi], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(self: Any, **kwargs: Any) -> Any:
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(FakeNetworkingApi, "list_ingress_for_all_namespaces", unreachable)
    with pytest.raises(InputError, match="cannot reach the cluster of context 'prod'"):
        loaders.load_cluster()


def test_no_kubeconfig_is_an_input_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import kubernetes.config.kube_config as kube_config

    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(tmp_path / "none"))
    with pytest.raises(InputError, match="no usable kubeconfig") as caught:
        loaders.load_cluster()
    assert caught.value.exit_code == 2


def test_load_text_names_its_source() -> None:
    text = yamlio.dump(generate(WorkloadSpec(20, seed=1)))
    assert len(loaders.load_text(text).ingresses) == 20
    with pytest.raises(InputError, match=r"^inline, document 0: malformed YAML at line \d+"):
        loaders.load_text("a: [", source="inline")
