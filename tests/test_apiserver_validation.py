"""GIVEN Ingress manifests the Kubernetes API server refuses WHEN gwbench loads them THEN
each is an input error (exit 2) naming the file, the document and the field, in the API
server's words, with no traceback; valid edge cases (wildcard hosts, port names, a
hostless rule) still load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gwbench.errors import InputError
from gwbench.workloads import loaders
from gwbench.workloads.validate import ANNOTATIONS_MAX_BYTES, api_server_errors

DATA = Path(__file__).parent / "data" / "manifests" / "apiserver"

# fixture -> (field of document 1, words of the message)
CASES: dict[str, tuple[str, str]] = {
    "host_uppercase.yaml": ("spec.rules[0].host", "lowercase RFC 1123 subdomain"),
    "host_underscore.yaml": ("spec.rules[0].host", "lowercase RFC 1123 subdomain"),
    "host_ip.yaml": ("spec.rules[0].host", "must be a DNS name, not an IP address"),
    "host_wildcard_inside.yaml": ("spec.rules[0].host", "wildcard is allowed only"),
    "name_invalid.yaml": ("metadata.name", "lowercase RFC 1123 subdomain"),
    "namespace_invalid.yaml": ("metadata.namespace", "lowercase RFC 1123 label"),
    "path_relative.yaml": ("spec.rules[0].http.paths[0].path", "must be an absolute path"),
    "path_type_unknown.yaml": (
        "spec.rules[0].http.paths[0].pathType",
        'Unsupported value: \'Regex\': supported values: "Exact", "ImplementationSpecific"',
    ),
    "path_type_missing.yaml": ("spec.rules[0].http.paths[0].pathType", "Required value"),
    "port_out_of_range.yaml": (
        "spec.rules[0].http.paths[0].backend.service.port.number",
        "must be between 1 and 65535, inclusive",
    ),
    "port_name_invalid.yaml": (
        "spec.rules[0].http.paths[0].backend.service.port.name",
        "alpha-numeric characters",
    ),
    "port_both.yaml": (
        "spec.rules[0].http.paths[0].backend.service.port",
        "cannot set both port name & port number",
    ),
    "tls_host_invalid.yaml": ("spec.tls[0].hosts[0]", "lowercase RFC 1123 subdomain"),
    "secret_name_invalid.yaml": ("spec.tls[0].secretName", "lowercase RFC 1123 subdomain"),
}


def test_every_fixture_is_covered() -> None:
    assert sorted(p.name for p in DATA.glob("*.yaml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_refused_ingress_is_an_input_error_naming_file_document_field(name: str) -> None:
    field, words = CASES[name]
    with pytest.raises(InputError) as caught:
        loaders.load_file(str(DATA / name))
    error = caught.value
    assert error.exit_code == 2
    assert error.file == str(DATA / name)
    assert error.document == 1  # document 0 is a valid Ingress
    assert error.field == field
    assert words in str(error)


def test_inspect_exits_2_with_file_document_field_and_no_traceback() -> None:
    path = DATA / "host_ip.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "gwbench", "inspect", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert f"{path}, document 1, field spec.rules[0].host:" in proc.stderr
    assert "Traceback" not in proc.stderr


def _ingress(**metadata: object) -> dict[str, object]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "ok", "namespace": "demo", **metadata},
        "spec": {
            "rules": [
                {
                    "host": "*.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "ImplementationSpecific",
                                "backend": {"service": {"name": "web", "port": {"name": "http"}}},
                            }
                        ]
                    },
                },
                {"http": {"paths": []}},
            ],
            "tls": [{"hosts": ["*.example.com"]}],
        },
    }


def test_valid_edge_cases_pass() -> None:
    # a wildcard host, a port name, a hostless rule, a tls entry without secretName
    assert list(api_server_errors(_ingress())) == []


def test_annotations_over_256_kib_in_total_are_refused(tmp_path: Path) -> None:
    # GIVEN annotations one byte over the limit, spread over two keys
    half = ANNOTATIONS_MAX_BYTES // 2
    annotations = {"a": "x" * (half - 1), "b": "y" * (half - 1 + 1)}
    assert sum(len(k) + len(v) for k, v in annotations.items()) == ANNOTATIONS_MAX_BYTES + 1
    errors = list(api_server_errors(_ingress(annotations=annotations)))
    assert [e.path for e in errors] == ["metadata.annotations"]
    assert "may not be more than 262144 bytes" in errors[0].message
    # AND exactly at the limit they pass
    annotations["b"] = annotations["b"][:-1]
    assert list(api_server_errors(_ingress(annotations=annotations))) == []
