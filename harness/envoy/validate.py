"""``envoy --mode validate``: does a real Envoy accept a translated listener as it is?

Envoy's validation mode (``source/server/config_validation/server.cc``) parses the bootstrap
and builds every static listener, filter chain, transport socket and HTTP connection manager
with no sockets opened and no control plane contacted, then exits 0 (accepted) or 1 with the
reason. The listener is checked exactly as translated, its SDS and RDS over ADS included: the
bootstrap names an ADS cluster like a gateway's (never contacted in this mode).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2

from gwbench.errors import HarnessError
from gwbench.harness.envoy.bootstrap import validation_bootstrap
from gwbench.harness.envoy.process import envoy_version, find_envoy, unique_base_id

VALIDATE_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of ``envoy --mode validate`` on one bootstrap."""

    accepted: bool
    filter_chains: int
    seconds: float
    envoy_version: str
    message: str
    """Envoy's output when it refused the configuration (empty when accepted)."""


def validate_listener(
    listener: listener_pb2.Listener,
    *,
    secrets: Sequence[secret_pb2.Secret] = (),
    binary: Path | None = None,
    timeout_s: float = VALIDATE_TIMEOUT_S,
) -> ValidationResult:
    """Run ``envoy --mode validate`` on a bootstrap holding ``listener`` statically.

    Returns the verdict; raises :class:`HarnessError` only when Envoy cannot be run or hangs.
    """
    envoy = binary if binary is not None else find_envoy()
    version = envoy_version(envoy)
    workdir = Path(tempfile.mkdtemp(prefix="gwbench-envoy-validate-"))
    try:
        path = workdir / "bootstrap.pb"
        bootstrap = validation_bootstrap([listener], secrets)
        path.write_bytes(bootstrap.SerializeToString(deterministic=True))
        command = [
            str(envoy),
            "--mode",
            "validate",
            "-c",
            str(path),
            "-l",
            "warning",
            "--disable-hot-restart",
            "--base-id",
            str(unique_base_id()),
        ]
        start = time.perf_counter()
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(
                f"envoy --mode validate did not finish in {timeout_s:.0f} s"
            ) from exc
        except OSError as exc:
            raise HarnessError(f"the Envoy binary is not runnable: {envoy}: {exc}") from exc
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    output = (done.stdout + done.stderr).strip()
    accepted = done.returncode == 0
    return ValidationResult(
        accepted=accepted,
        filter_chains=len(listener.filter_chains),
        seconds=seconds,
        envoy_version=version,
        message="" if accepted else _reason(output),
    )


def _reason(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "rejected" in line.lower()]
    return "\n".join((errors or lines)[-8:])
