"""`gwbench generate` and `gwbench inspect` through the real entry point (exit codes, output)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cli_capture import gwbench

from gwbench.workloads import loaders, yamlio
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec

DATA = Path(__file__).parent / "data" / "manifests"
ROOT = Path(__file__).resolve().parent.parent


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``gwbench ARGS``."""
    return gwbench(list(args), capsys)


# -- generate ----------------------------------------------------------------------------


def test_generate_to_stdout_is_the_generator_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "generate", "--ingresses", "40", "--seed", "3")
    assert code == 0
    assert out == yamlio.dump(generate(WorkloadSpec(40, seed=3)))
    assert "Traceback" not in err


def test_generate_options_reach_the_generator(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "generate", "-n", "200", "--custom-domains", "0.2", "--domain", "apps.test.io"
    )
    assert code == 0
    spec = WorkloadSpec(200, custom_domain_share=0.2, domain="apps.test.io")
    assert out == yamlio.dump(generate(spec))
    assert "apps.test.io" in out


def test_generate_writes_a_file_atomically(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("old")
    code, out, err = run(capsys, "generate", "-n", "30", "-o", str(target))
    assert code == 0 and out == ""
    assert target.read_text() == yamlio.dump(generate(WorkloadSpec(30)))
    assert "wrote 30 Ingresses" in err and str(target) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]  # no temp file left


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-n", "0"], "0 is not in the range x>=1"),
        (["-n", "-5"], "-5 is not in the range x>=1"),
        ([], "Missing option '-n' / '--ingresses'"),
        (["-n", "10", "--custom-domains", "1.5"], "1.5 is not in the range"),
        (["-n", "10", "--domain", "Not A Domain"], "is not a lowercase DNS domain"),
    ],
)
def test_generate_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    code, out, err = run(capsys, "generate", *args)
    assert code == 2
    assert words in err and out == ""
    assert "Traceback" not in err


def test_generate_into_a_missing_directory_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "generate", "-n", "5", "-o", str(tmp_path / "no" / "x.yaml"))
    assert code == 2
    assert "gwbench: error:" in err and "output directory does not exist" in err


# -- inspect -----------------------------------------------------------------------------


def test_inspect_summarizes_a_generated_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "w.yaml"
    workload = generate(WorkloadSpec(400, seed=9))
    path.write_text(yamlio.dump(workload))
    code, out, _ = run(capsys, "inspect", str(path), "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["schema_version"] == 1
    assert summary["ingresses"] == 400
    assert summary["custom_domain_hosts"] == 20
    assert summary["domain"] == "cloud.example.com"
    top = summary["top_secrets"][0]
    assert top["name"] == "wildcard-cert" and top["hosts"] == 380
    assert top["namespaces"] == summary["namespaces"]
    assert summary["top_annotations"][0] == {"key": "kubernetes.io/ingress.class", "ingresses": 400}
    assert summary["warnings"] == loaders.load_file(path).warnings

    code, text, _ = run(capsys, "inspect", str(path))
    assert code == 0
    assert "Ingresses: 400 in" in text
    assert "wildcard-cert: 380 hosts in" in text
    assert "custom domains: 20 hosts outside cloud.example.com (5.0%)" in text


def test_inspect_text_lists_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", str(DATA / "duplicate_host.yaml"))
    assert code == 0
    assert "warnings: 1" in out and "host shared.example.com is already defined" in out


BAD = [
    ("malformed.yaml", "document 1", None, "malformed YAML at line 14"),
    ("only_other_kinds.yaml", None, None, "no Ingress found"),
    ("missing_host.yaml", "document 1", "spec.rules", "missing host"),
    ("v1beta1.yaml", "document 1", "apiVersion", "extensions/v1beta1 is not supported"),
    ("unknown_api_version.yaml", "document 0", "apiVersion", "unknown Ingress apiVersion"),
    (
        "wrong_type.yaml",
        "document 1",
        "spec.rules[0].http.paths[0].backend.service.port.number",
        "wrong type",
    ),
    ("unknown_field.yaml", "document 0", "spec.tls[0].secret", "unknown field"),
    ("list_bad_item.yaml", "document 0", "items[1].spec.rules[0].host", "wrong type"),
    ("not_a_mapping.yaml", "document 1", None, "must be a mapping"),
    ("does_not_exist.yaml", None, None, "no such file"),
]


@pytest.mark.parametrize(("name", "document", "field", "words"), BAD)
def test_inspect_bad_input_exits_2_with_file_document_field(
    capsys: pytest.CaptureFixture[str],
    name: str,
    document: str | None,
    field: str | None,
    words: str,
) -> None:
    path = str(DATA / name)
    code, out, err = run(capsys, "inspect", path)
    assert code == 2 and out == ""
    assert err.startswith(f"gwbench: error: {path}")
    assert words in err
    if document is not None:
        assert f", {document}" in err
    if field is not None:
        assert f"field {field}:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [[], ["x.yaml", "--from-cluster"], ["x.yaml", "--context", "prod"]],
)
def test_inspect_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, _, err = run(capsys, "inspect", *args)
    assert code == 2 and "Usage:" in err


def test_inspect_from_cluster_with_a_mocked_api(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_workloads_load import FakeNetworkingApi

    contexts = [{"name": "prod", "context": {}}]
    monkeypatch.setattr(
        loaders.k8s_config, "list_kube_config_contexts", lambda: (contexts, contexts[0])
    )
    monkeypatch.setattr(loaders.k8s_config, "new_client_from_config", lambda context: None)
    monkeypatch.setattr(loaders.k8s_client, "NetworkingV1Api", FakeNetworkingApi)
    code, out, _ = run(capsys, "inspect", "--from-cluster", "--context", "prod", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["source"] == "cluster:prod"
    assert summary["ingresses"] == 4 and summary["hosts"] == 3
    assert summary["hostless_rules"] == 1
    assert "tls.crt" not in out and "tls.key" not in out


def test_inspect_from_cluster_without_kubeconfig_exits_2(tmp_path: Path) -> None:
    # A real process, so that the kubernetes client reads $KUBECONFIG as it starts.
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "missing"), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "gwbench", "inspect", "--from-cluster"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("gwbench: error: no usable kubeconfig")
    assert "Traceback" not in result.stderr


def test_generate_with_progress_bar_writes_the_same_yaml(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The bar goes to stderr; stdout stays exactly the manifests.
    code, out, _ = run(capsys, "generate", "-n", "30", "--seed", "2", "--progress")
    assert code == 0
    assert out == yamlio.dump(generate(WorkloadSpec(30, seed=2)))


def test_generate_bytes_do_not_depend_on_the_process(tmp_path: Path) -> None:
    # Two processes with different string-hash seeds write identical manifests.
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-m", "gwbench", "generate", "-n", "300", "--seed", "4"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            check=True,
            timeout=120,
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] and outputs[0].count(b"kind: Ingress") == 300


# -- inspect: the cloud domain -------------------------------------------------------------


@pytest.mark.parametrize(
    ("hosts", "expected"),
    [
        # hosts under several domains, none holding most of them: no cloud domain (not "com")
        (["shop.com", "blog.com", "www.foo.org", "api.bar.net"], None),
        (["a.one.com", "b.one.com", "c.two.com", "d.two.com"], None),  # a tie at half
        # one domain holds most hosts: that one, the most specific that does
        (["a.apps.example.com", "b.apps.example.com", "c.apps.example.com", "x.other.io"],
         "apps.example.com"),
        (["a.apps.example.com", "b.web.example.com", "c.api.example.com"], "example.com"),
        (["*.apps.example.com", "a.apps.example.com", "b.apps.example.com"], "apps.example.com"),
        ([], None),
    ],
)  # fmt: skip
def test_cloud_domain_needs_most_hosts(hosts: list[str], expected: str | None) -> None:
    from gwbench.harness.commands.inspect import cloud_domain

    assert cloud_domain(hosts).domain == expected


def _ingress_file(tmp_path: Path, hosts: list[str]) -> Path:
    rules = "\n".join(f"  - host: {h}" for h in hosts)
    path = tmp_path / "hosts.yaml"
    path.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\n"
        f"metadata: {{name: a, namespace: x}}\nspec:\n  rules:\n{rules}\n"
    )
    return path


def test_inspect_says_there_is_no_cloud_domain(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN hosts under several domains, two of them under one
    path = _ingress_file(tmp_path, ["a.shop.com", "b.shop.com", "blog.org", "www.foo.net", "x.io"])
    # WHEN inspected without --domain
    code, text, _ = run(capsys, "inspect", str(path))
    # THEN it says there is none (naming the largest), and counts no custom domains
    assert code == 0
    assert "cloud domain: none: no domain holds most hosts" in text
    assert "shop.com, holds 2 of 5 hosts" in text
    assert "outside com " not in text
    code, out, _ = run(capsys, "inspect", str(path), "--json")
    summary = json.loads(out)
    assert summary["domain"] is None and summary["custom_domain_hosts"] is None
    # AND --domain still counts them
    code, text, _ = run(capsys, "inspect", str(path), "--domain", "shop.com")
    assert "custom domains: 3 hosts outside shop.com (60.0%)" in text
