"""Seeded generator of Sealos-like Ingresses and their TLS Secrets (docs/workload.md).

Modelled on the code that creates user Ingresses on the Sealos cloud:

- App Launchpad, labring/sealos ``frontend/providers/applaunchpad/src/utils/deployYaml2Json.ts``
  ``json2Ingress``: one Ingress ``network-<12 a-z>`` per public port, host
  ``<12 a-z>.<domain>``, annotation set by backend protocol (HTTP 8, GRPC 3, WS 5);
- the devbox frontend: the same annotation sets, Ingress ``<devbox>-<12 a-z>``;
- the terminal controller, ``controllers/terminal/controllers/ingress.go``: Ingress
  ``terminal-<user>``, host ``t<8 a-z0-9>.<domain>``, 9 annotations (long timeouts, CORS);
- labring-actions/templates: ``<app>[-suffix]`` Ingresses, host ``<app>-<8 a-z0-9>.<domain>``,
  a median of 10 annotations (up to 15), ``/()(.*)`` paths with ``rewrite-target: /$2``, a few
  multi-path and Exact-path Ingresses, and a few Higress response-header-control pairs.

Every subdomain Ingress names the shared wildcard Secret ``wildcard-cert`` (a Secret must live
in the Ingress's namespace, so the same certificate is copied into every namespace that uses
it, as on a real cluster); each custom domain names its own Secret, named after the Ingress.
Certificates are real (:mod:`workloads.certs`).

Low-rate edge cases (:class:`EdgeCaseRates`) are placed at ``floor(rate * N)`` Ingresses each,
so a small N may have none of them. All randomness comes from one ``random.Random(seed)``:
the same :class:`~workloads.model.WorkloadSpec` always gives the same objects and bytes.
Cost: O(N).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from kubernetes.client import (
    V1HTTPIngressPath,
    V1HTTPIngressRuleValue,
    V1Ingress,
    V1IngressBackend,
    V1IngressRule,
    V1IngressServiceBackend,
    V1IngressSpec,
    V1IngressTLS,
    V1ObjectMeta,
    V1Secret,
    V1ServiceBackendPort,
)

from gwbench.heap import paused_gc
from gwbench.progressbar import stderr_bar
from gwbench.workloads import certs
from gwbench.workloads.model import WILDCARD_SECRET, Workload, WorkloadSpec

INGRESS_API_VERSION = "networking.k8s.io/v1"
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
INGRESS_CLASS = "nginx"
LABEL_APP = "cloud.sealos.io/app-deploy-manager"
LABEL_DOMAIN = "cloud.sealos.io/app-deploy-manager-domain"
LABEL_DEVBOX = "cloud.sealos.io/devbox-manager"
NGINX = "nginx.ingress.kubernetes.io/"
HIGRESS_HEADER_REMOVE = "higress.io/response-header-control-remove"
HIGRESS_HEADER_UPDATE = "higress.io/response-header-control-update"
REWRITE_PATH = "/()(.*)"

_LOWER = string.ascii_lowercase
_LOWER_DIGITS = string.ascii_lowercase + string.digits


class Producer(StrEnum):
    """What created an Ingress on a Sealos cloud."""

    LAUNCHPAD = "applaunchpad"
    TEMPLATE = "template"
    DEVBOX = "devbox"
    TERMINAL = "terminal"


# Share of Ingresses by producer (docs/workload.md, "producer mix"; an assumption).
PRODUCER_SHARE: dict[Producer, float] = {
    Producer.LAUNCHPAD: 0.65,
    Producer.TEMPLATE: 0.25,
    Producer.DEVBOX: 0.07,
    Producer.TERMINAL: 0.03,
}
# Ingresses per app: 1: 85%, 2: 10%, 3-6: 5% (templates); a terminal has exactly one.
APP_SIZES: tuple[tuple[int, float], ...] = (
    (1, 0.85),
    (2, 0.10),
    (3, 0.0125),
    (4, 0.0125),
    (5, 0.0125),
    (6, 0.0125),
)
# Paths per host (templates; code-built Ingresses always have one).
TEMPLATE_PATH_COUNTS: tuple[tuple[int, float], ...] = (
    (1, 0.95),
    (2, 0.03),
    (3, 0.0075),
    (4, 0.0075),
    (9, 0.005),
)
# Backend protocol annotation of template Ingresses ("" = no backend-protocol annotation).
TEMPLATE_PROTOCOLS: tuple[tuple[str, float], ...] = (
    ("HTTP", 0.88),
    ("", 0.09),
    ("GRPC", 0.02),
    ("WS", 0.01),
)
# App Launchpad and devbox always set a protocol; same GRPC and WS shares as templates.
CODE_PROTOCOLS: tuple[tuple[str, float], ...] = (("HTTP", 0.97), ("GRPC", 0.02), ("WS", 0.01))
# Most common service ports, most frequent first.
PORTS: tuple[tuple[int, float], ...] = (
    (3000, 0.24),
    (80, 0.18),
    (8080, 0.18),
    (8000, 0.12),
    (5000, 0.09),
    (5001, 0.05),
    (9000, 0.08),
    (8888, 0.06),
)
# Templates: total annotation count, median 10, at most 15.
TEMPLATE_ANNOTATION_COUNTS: tuple[tuple[int, float], ...] = (
    (7, 0.05),
    (8, 0.15),
    (9, 0.20),
    (10, 0.22),
    (11, 0.13),
    (12, 0.10),
    (13, 0.07),
    (14, 0.05),
    (15, 0.03),
)
TEMPLATE_REWRITE_SHARE = 0.26  # of single-path template Ingresses: `/()(.*)` + rewrite-target
TEMPLATE_SINGLE_EXACT_SHARE = 0.004  # single-path template Ingress on an Exact `/`
TEMPLATE_MULTI_EXACT_SHARE = 0.6  # multi-path template Ingress whose first path is Exact `/`
TEMPLATE_HIGRESS_HEADERS_SHARE = 0.03  # template Ingresses with the response-header pair
NAMESPACE_BUDGET = (1, 5)  # Ingresses per namespace drawn uniformly: about 3 on average

SERVER_SNIPPET = "client_header_buffer_size 64k;\nlarge_client_header_buffers 4 128k;\n"

_TEMPLATES: tuple[tuple[str, int], ...] = (
    ("uptime-kuma", 3000),
    ("nocodb", 8080),
    ("gitea", 3000),
    ("minio", 9000),
    ("n8n", 5000),
    ("outline", 3000),
    ("halo", 8080),
    ("memos", 5000),
    ("lobe-chat", 3000),
    ("chatgpt-next-web", 3000),
    ("dify", 80),
    ("fastgpt", 3000),
    ("appsmith", 80),
    ("vaultwarden", 80),
    ("nextcloud", 80),
    ("code-server", 8080),
    ("grafana", 3000),
    ("umami", 3000),
    ("plausible", 8000),
    ("wordpress", 80),
    ("ghost", 8080),
    ("jupyter", 8888),
    ("flowise", 3000),
    ("immich", 3000),
    ("metabase", 3000),
    ("affine", 3000),
    ("drawio", 8080),
    ("excalidraw", 80),
    ("rocketchat", 3000),
    ("mlflow", 5000),
)
_TEMPLATE_SUFFIXES = ("api", "admin", "web", "ws", "console", "minio")
_APP_WORDS = (
    "web", "api", "app", "server", "blog", "shop", "bot", "frontend", "backend",
    "admin", "docs", "gateway", "worker", "site", "game", "chat", "demo", "hello-world",
)  # fmt: skip
_EXTRA_PATHS = (
    "/api", "/ws", "/static", "/admin", "/v1", "/assets", "/socket.io", "/uploads",
    "/docs", "/health", "/graphql", "/auth",
)  # fmt: skip
_CUSTOM_SUBDOMAINS = ("www", "app", "api", "blog", "shop", "docs", "chat", "")
_CUSTOM_TLDS = (".com", ".io", ".net", ".cn", ".dev", ".app", ".org", ".ai")
# Optional template annotations, in the order a template author would add them.
_TEMPLATE_EXTRAS: tuple[tuple[str, str], ...] = (
    (NGINX + "ssl-redirect", "false"),
    (NGINX + "enable-cors", "true"),
    (NGINX + "cors-allow-origin", "*"),
    (NGINX + "cors-allow-methods", "PUT, GET, POST, PATCH, DELETE, OPTIONS"),
    (
        NGINX + "cors-allow-headers",
        "DNT,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,"
        "Range,Authorization",
    ),
    (NGINX + "configuration-snippet", 'more_set_headers "X-Frame-Options: SAMEORIGIN";'),
    (NGINX + "proxy-connect-timeout", "60"),
    (NGINX + "proxy-http-version", "1.1"),
    (NGINX + "proxy-request-buffering", "off"),
    (NGINX + "proxy-buffering", "off"),
    (NGINX + "affinity", "cookie"),
    (NGINX + "session-cookie-name", "route"),
)
# About 1 KB of Content-Security-Policy, as the templates that set one carry.
CSP_VALUE = (
    "Content-Security-Policy \"default-src 'self'; "
    "script-src 'self' 'unsafe-inline' 'unsafe-eval' https://cdn.jsdelivr.net "
    "https://unpkg.com https://www.googletagmanager.com https://www.google-analytics.com "
    "https://static.cloudflareinsights.com https://challenges.cloudflare.com; "
    "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com https://cdn.jsdelivr.net; "
    "img-src 'self' data: blob: https: http:; "
    "font-src 'self' data: https://fonts.gstatic.com https://cdn.jsdelivr.net; "
    "connect-src 'self' wss: https: https://www.google-analytics.com "
    "https://region1.google-analytics.com https://api.openai.com https://*.sentry.io; "
    "media-src 'self' blob: data: https:; object-src 'none'; "
    "frame-src 'self' https://challenges.cloudflare.com https://www.youtube.com "
    "https://player.vimeo.com; frame-ancestors 'self'; worker-src 'self' blob:; "
    "manifest-src 'self'; base-uri 'self'; form-action 'self'; "
    "upgrade-insecure-requests; block-all-mixed-content; "
    "report-uri https://csp-report.example.com/report; "
    "trusted-types default dompurify angular nextjs#bundler; "
    "require-trusted-types-for 'script'\""
)


def _launchpad_annotations(protocol: str) -> dict[str, str]:
    """``json2Ingress``: class and body size, then the protocol's own set."""
    annotations = {INGRESS_CLASS_ANNOTATION: INGRESS_CLASS, NGINX + "proxy-body-size": "32m"}
    if protocol == "GRPC":
        annotations[NGINX + "backend-protocol"] = "GRPC"
    elif protocol == "WS":
        annotations[NGINX + "proxy-read-timeout"] = "3600"
        annotations[NGINX + "proxy-send-timeout"] = "3600"
        annotations[NGINX + "backend-protocol"] = "WS"
    else:
        annotations[NGINX + "backend-protocol"] = "HTTP"
        annotations[NGINX + "client-body-buffer-size"] = "64k"
        annotations[NGINX + "proxy-buffer-size"] = "64k"
        annotations[NGINX + "proxy-send-timeout"] = "300"
        annotations[NGINX + "proxy-read-timeout"] = "300"
        annotations[NGINX + "server-snippet"] = SERVER_SNIPPET
    return annotations


def _terminal_annotations(domain: str) -> dict[str, str]:
    """The terminal controller's nine annotations: day-long timeouts and CORS for the desktop."""
    return {
        INGRESS_CLASS_ANNOTATION: INGRESS_CLASS,
        NGINX + "proxy-read-timeout": "86400",
        NGINX + "proxy-send-timeout": "86400",
        NGINX + "backend-protocol": "HTTP",
        NGINX + "enable-cors": "true",
        NGINX + "cors-allow-origin": f"https://{domain},https://*.{domain}",
        NGINX + "cors-allow-methods": "PUT, GET, POST, PATCH, OPTIONS",
        NGINX + "cors-allow-credentials": "false",
        NGINX + "configuration-snippet": 'more_clear_headers "X-Frame-Options:";',
    }


@dataclass(frozen=True)
class EdgeCaseRates:
    """Share of Ingresses given each edge case (each at most 1%; ``floor(rate * N)`` of them).

    - ``hostless``: one rule without host (``host: ""``) and no tls: a catch-all.
    - ``wildcard_host``: host ``*.<domain>`` (the first one), then ``*.<label>.<domain>``.
    - ``shared_host_redirect``: an Exact ``/`` redirect Ingress sharing the host (and the
      Secret) of the Prefix Ingress generated just before it.
    - ``tls_without_secret``: a tls entry without ``secretName`` (Higress serves the host
      with its fallback certificate, ``fallbackForInvalidSecret``).
    - ``missing_secret``: a tls entry naming a Secret that is not in the workload.
    """

    hostless: float = 0.002
    wildcard_host: float = 0.0002
    shared_host_redirect: float = 0.002
    tls_without_secret: float = 0.002
    missing_secret: float = 0.002

    def __post_init__(self) -> None:
        for name, rate in self.as_dict().items():
            if not 0.0 <= rate <= 0.01:
                raise ValueError(f"edge case rate {name}={rate} must be within [0, 0.01]")

    def as_dict(self) -> dict[str, float]:
        return {
            "hostless": self.hostless,
            "wildcard_host": self.wildcard_host,
            "shared_host_redirect": self.shared_host_redirect,
            "tls_without_secret": self.tls_without_secret,
            "missing_secret": self.missing_secret,
        }


DEFAULT_EDGE_CASES = EdgeCaseRates()
NO_EDGE_CASES = EdgeCaseRates(0.0, 0.0, 0.0, 0.0, 0.0)


class EdgeCase(StrEnum):
    """Which low-rate edge case an Ingress is (see :class:`EdgeCaseRates`)."""

    NONE = ""
    HOSTLESS = "hostless"
    WILDCARD = "wildcard_host"
    REDIRECT = "shared_host_redirect"
    NO_SECRET_NAME = "tls_without_secret"
    MISSING_SECRET = "missing_secret"


@dataclass
class _Slot:
    """One planned Ingress: who makes it, where, for which app."""

    producer: Producer
    namespace: str
    app: str
    index_in_app: int
    port: int
    template: str = ""
    custom: bool = False
    edge: EdgeCase = EdgeCase.NONE


_T = TypeVar("_T")


def _weighted(rng: random.Random, table: Sequence[tuple[_T, float]]) -> _T:
    return rng.choices([value for value, _ in table], [weight for _, weight in table])[0]


class IngressFactory:
    """Makes Ingresses and Secrets the way each producer does, from one seeded ``Random``.

    Keeps the sets of used namespaces, Ingress names and hosts so that every new one is
    unique. :func:`generate` plans a whole workload with it; :mod:`workloads.churn` adds
    single Ingresses to an existing workload with it.
    """

    def __init__(
        self,
        rng: random.Random,
        domain: str,
        cert_seed: int,
        *,
        used_hosts: set[str] | None = None,
        used_names: set[tuple[str, str]] | None = None,
        used_namespaces: set[str] | None = None,
    ) -> None:
        self.rng = rng
        self.domain = domain
        self.cert_seed = cert_seed
        self.hosts: set[str] = set(used_hosts or ())
        self.names: set[tuple[str, str]] = set(used_names or ())
        self.namespaces: set[str] = set(used_namespaces or ())
        self._wildcard_index = 0

    # -- random names -------------------------------------------------------------------
    def token(self, length: int, alphabet: str = _LOWER_DIGITS) -> str:
        return "".join(self.rng.choices(alphabet, k=length))

    def _unique(self, make: Callable[[], str], used: set[str]) -> str:
        value = make()
        while value in used:
            value = make()
        used.add(value)
        return value

    def new_namespace(self) -> str:
        return self._unique(lambda: "ns-" + self.token(8), self.namespaces)

    def new_host(self, producer: Producer, template: str = "") -> str:
        domain = self.domain
        if producer is Producer.TERMINAL:
            return self._unique(lambda: f"t{self.token(8)}.{domain}", self.hosts)
        if producer is Producer.TEMPLATE:
            return self._unique(lambda: f"{template}-{self.token(8)}.{domain}", self.hosts)
        return self._unique(lambda: f"{self.token(12, _LOWER)}.{domain}", self.hosts)

    def new_custom_host(self) -> str:
        def make() -> str:
            sub = self.rng.choice(_CUSTOM_SUBDOMAINS)
            name = self.token(self.rng.randint(5, 10), _LOWER)
            tld = self.rng.choice(_CUSTOM_TLDS)
            return f"{sub}.{name}{tld}" if sub else f"{name}{tld}"

        return self._unique(make, self.hosts)

    def new_wildcard_host(self) -> str:
        self._wildcard_index += 1
        if self._wildcard_index == 1 and f"*.{self.domain}" not in self.hosts:
            self.hosts.add(f"*.{self.domain}")
            return f"*.{self.domain}"
        return self._unique(lambda: f"*.{self.token(12, _LOWER)}.{self.domain}", self.hosts)

    def claim_name(self, namespace: str, name: str) -> str:
        """``name`` if free in ``namespace``, else ``name`` with a random suffix."""
        candidate = name
        while (namespace, candidate) in self.names:
            candidate = f"{name}-{self.token(4)}"
        self.names.add((namespace, candidate))
        return candidate

    def new_app(self, producer: Producer) -> tuple[str, str]:
        """``(app name, template name)`` for a new app of ``producer``."""
        if producer is Producer.TEMPLATE:
            template = self.rng.choice(_TEMPLATES)[0]
            return f"{template}-{self.token(8)}", template
        if producer is Producer.TERMINAL:
            return self.token(8), ""
        return f"{self.rng.choice(_APP_WORDS)}-{self.token(4)}", ""

    def app_ports(self, producer: Producer, template: str, count: int) -> list[int]:
        if producer is Producer.TERMINAL:
            return [8080] * count
        if producer is Producer.TEMPLATE:
            first = dict(_TEMPLATES)[template]
            others = [p for p, _ in PORTS if p != first]
            return [first, *self.rng.sample(others, min(count - 1, len(others)))][:count]
        ports: list[int] = []
        while len(ports) < count:
            port = _weighted(self.rng, PORTS)
            if port not in ports:
                ports.append(port)
        return ports

    # -- objects ------------------------------------------------------------------------
    def ingress(
        self,
        producer: Producer,
        namespace: str,
        app: str,
        port: int,
        *,
        template: str = "",
        index_in_app: int = 0,
        custom: bool = False,
        edge: EdgeCase = EdgeCase.NONE,
    ) -> tuple[V1Ingress, V1Secret | None]:
        """One Ingress as ``producer`` would write it, plus its custom-domain Secret if any."""
        rng = self.rng
        labels: dict[str, str] = {}
        paths: list[tuple[str, str]] = [("/", "Prefix")]
        rewrite = False
        if producer is Producer.TERMINAL:
            name = self.claim_name(namespace, f"terminal-{app}")
            service = f"terminal-{app}"
            annotations = _terminal_annotations(self.domain)
            host = self.new_host(producer)
        elif producer is Producer.TEMPLATE:
            suffix = "" if index_in_app == 0 else "-" + _TEMPLATE_SUFFIXES[(index_in_app - 1) % 6]
            name = self.claim_name(namespace, app + suffix)
            service = app + suffix
            host = self.new_host(producer, template=template)
            labels[LABEL_APP] = app
            annotations, paths, rewrite = self._template_annotations_and_paths()
        else:
            token = self.token(12, _LOWER)
            prefix = "network" if producer is Producer.LAUNCHPAD else app
            name = self.claim_name(namespace, f"{prefix}-{token}")
            service = app
            host = self.new_host(producer)
            if producer is Producer.DEVBOX:
                labels[LABEL_DEVBOX] = app
            else:
                labels[LABEL_APP] = app
            annotations = _launchpad_annotations(_weighted(rng, CODE_PROTOCOLS))
        if labels:
            labels[LABEL_DOMAIN] = host.split(".", 1)[0]

        secret_name: str | None = WILDCARD_SECRET
        secret: V1Secret | None = None
        with_tls = True
        if custom:
            self.hosts.discard(host)
            host = self.new_custom_host()
            secret_name = name
            secret = self.custom_secret(namespace, name, host)
        elif edge is EdgeCase.HOSTLESS:
            self.hosts.discard(host)
            host = ""
            with_tls = False
        elif edge is EdgeCase.WILDCARD:
            self.hosts.discard(host)
            host = self.new_wildcard_host()
        elif edge is EdgeCase.NO_SECRET_NAME:
            secret_name = None
        elif edge is EdgeCase.MISSING_SECRET:
            secret_name = name

        backend = V1IngressBackend(
            service=V1IngressServiceBackend(name=service, port=V1ServiceBackendPort(number=port))
        )
        http_paths = [V1HTTPIngressPath(path=p, path_type=t, backend=backend) for p, t in paths]
        if rewrite:
            annotations[NGINX + "rewrite-target"] = "/$2"
        tls = [V1IngressTLS(hosts=[host], secret_name=secret_name)] if with_tls else None
        ingress = V1Ingress(
            api_version=INGRESS_API_VERSION,
            kind="Ingress",
            metadata=V1ObjectMeta(
                name=name,
                namespace=namespace,
                labels=labels or None,
                annotations=annotations,
            ),
            spec=V1IngressSpec(
                rules=[V1IngressRule(host=host, http=V1HTTPIngressRuleValue(paths=http_paths))],
                tls=tls,
            ),
        )
        return ingress, secret

    def _template_annotations_and_paths(
        self,
    ) -> tuple[dict[str, str], list[tuple[str, str]], bool]:
        rng = self.rng
        protocol = _weighted(rng, TEMPLATE_PROTOCOLS)
        annotations = _launchpad_annotations("HTTP")
        if protocol:
            annotations[NGINX + "backend-protocol"] = protocol
        else:
            del annotations[NGINX + "backend-protocol"]
        count = _weighted(rng, TEMPLATE_PATH_COUNTS)
        rewrite = False
        if count == 1:
            draw = rng.random()
            if draw < TEMPLATE_SINGLE_EXACT_SHARE:
                paths = [("/", "Exact")]
            elif draw < TEMPLATE_SINGLE_EXACT_SHARE + TEMPLATE_REWRITE_SHARE:
                paths = [(REWRITE_PATH, "Prefix")]
                rewrite = True
            else:
                paths = [("/", "Prefix")]
        else:
            first = "Exact" if rng.random() < TEMPLATE_MULTI_EXACT_SHARE else "Prefix"
            paths = [("/", first)] + [(p, "Prefix") for p in rng.sample(_EXTRA_PATHS, count - 1)]
        higress = rng.random() < TEMPLATE_HIGRESS_HEADERS_SHARE
        forced = int(rewrite) + 2 * int(higress)
        total = _weighted(rng, TEMPLATE_ANNOTATION_COUNTS)
        extras = max(0, min(total - len(annotations) - forced, len(_TEMPLATE_EXTRAS)))
        for key, value in _TEMPLATE_EXTRAS[:extras]:
            annotations[key] = value
        if higress:
            annotations[HIGRESS_HEADER_REMOVE] = "X-Frame-Options"
            annotations[HIGRESS_HEADER_UPDATE] = CSP_VALUE
        return annotations, paths, rewrite

    def redirect_for(self, anchor: V1Ingress) -> V1Ingress:
        """An Exact ``/`` redirect helper sharing ``anchor``'s host, Secret and namespace."""
        meta = anchor.metadata
        spec = anchor.spec
        assert meta is not None and spec is not None and spec.rules and spec.tls
        rule = spec.rules[0]
        assert rule.http is not None
        host = rule.host or ""
        name = self.claim_name(meta.namespace or "default", f"{meta.name}-redirect")
        return V1Ingress(
            api_version=INGRESS_API_VERSION,
            kind="Ingress",
            metadata=V1ObjectMeta(
                name=name,
                namespace=meta.namespace,
                labels=dict(meta.labels) if meta.labels else None,
                annotations={
                    INGRESS_CLASS_ANNOTATION: INGRESS_CLASS,
                    NGINX + "permanent-redirect": f"https://{host}/dashboard/",
                },
            ),
            spec=V1IngressSpec(
                rules=[
                    V1IngressRule(
                        host=host,
                        http=V1HTTPIngressRuleValue(
                            paths=[
                                V1HTTPIngressPath(
                                    path="/",
                                    path_type="Exact",
                                    backend=rule.http.paths[0].backend,
                                )
                            ]
                        ),
                    )
                ],
                tls=[V1IngressTLS(hosts=[host], secret_name=spec.tls[0].secret_name)],
            ),
        )

    def custom_secret(self, namespace: str, name: str, host: str) -> V1Secret:
        """The cert-manager Secret of a custom domain (real certificate for ``host``)."""
        cert_pem, key_pem = certs.make_certificate([host], self.cert_seed)
        data: dict[str, bytes | str] = {**certs.tls_secret_data(cert_pem, key_pem)}
        return _tls_secret(
            namespace,
            name,
            data,
            annotations={
                "cert-manager.io/alt-names": host,
                "cert-manager.io/certificate-name": name,
                "cert-manager.io/issuer-kind": "Issuer",
                "cert-manager.io/issuer-name": name,
            },
        )

    def wildcard_secret(self, namespace: str) -> V1Secret:
        """The shared ``wildcard-cert`` Secret, as copied into ``namespace``."""
        data: dict[str, bytes | str] = {**certs.wildcard_secret_data(self.domain, self.cert_seed)}
        return _tls_secret(namespace, WILDCARD_SECRET, data)


def _tls_secret(
    namespace: str,
    name: str,
    data: dict[str, bytes | str],
    annotations: dict[str, str] | None = None,
) -> V1Secret:
    return V1Secret(
        api_version="v1",
        kind="Secret",
        type=certs.TLS_SECRET_TYPE,
        metadata=V1ObjectMeta(name=name, namespace=namespace, annotations=annotations),
        data=data,
    )


def _plan(spec: WorkloadSpec, factory: IngressFactory) -> list[_Slot]:
    """Producers, namespaces and apps for N Ingresses (no objects yet)."""
    rng = factory.rng
    mean_app_size = sum(size * weight for size, weight in APP_SIZES)
    producers = list(PRODUCER_SHARE)
    # Per-app weights so that the share of *Ingresses* by producer is PRODUCER_SHARE.
    weights = [
        PRODUCER_SHARE[p] / (1.0 if p is Producer.TERMINAL else mean_app_size) for p in producers
    ]
    sizes = [size for size, _ in APP_SIZES]
    size_weights = [weight for _, weight in APP_SIZES]
    slots: list[_Slot] = []
    budget = 0
    namespace = ""
    while len(slots) < spec.ingresses:
        if budget <= 0:
            namespace = factory.new_namespace()
            budget = rng.randint(*NAMESPACE_BUDGET)
        producer = rng.choices(producers, weights)[0]
        size = 1 if producer is Producer.TERMINAL else rng.choices(sizes, size_weights)[0]
        app, template = factory.new_app(producer)
        ports = factory.app_ports(producer, template, size)
        for index in range(size):
            if len(slots) == spec.ingresses:
                break
            slots.append(_Slot(producer, namespace, app, index, ports[index], template))
        budget -= size
    return slots


def _place_special_cases(
    spec: WorkloadSpec, edges: EdgeCaseRates, slots: list[_Slot], rng: random.Random
) -> None:
    n = len(slots)
    eligible = [i for i, slot in enumerate(slots) if slot.producer is not Producer.TERMINAL]
    custom_count = min(len(eligible), round(spec.custom_domain_share * n))
    for i in sorted(rng.sample(eligible, custom_count)):
        slots[i].custom = True
    used = [slot.custom for slot in slots]

    redirects = int(edges.shared_host_redirect * n)
    if redirects:
        candidates = [i for i in range(1, n) if not used[i] and not used[i - 1]]
        placed = 0
        for i in rng.sample(candidates, len(candidates)):
            if placed == redirects:
                break
            if used[i] or used[i - 1] or (i + 1 < n and used[i + 1]):
                continue
            slots[i].edge = EdgeCase.REDIRECT
            slots[i].namespace = slots[i - 1].namespace
            used[i] = used[i - 1] = True  # the anchor stays a plain Prefix Ingress
            placed += 1

    for edge, rate in (
        (EdgeCase.HOSTLESS, edges.hostless),
        (EdgeCase.WILDCARD, edges.wildcard_host),
        (EdgeCase.NO_SECRET_NAME, edges.tls_without_secret),
        (EdgeCase.MISSING_SECRET, edges.missing_secret),
    ):
        count = int(rate * n)
        if not count:
            continue
        free = [i for i in range(n) if not used[i]]
        for i in sorted(rng.sample(free, min(count, len(free)))):
            slots[i].edge = edge
            used[i] = True


@contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda done: None
        return
    with stderr_bar("generating Ingresses", total) as (bar, task):
        yield lambda done: bar.update(task, completed=done)


def generate(
    spec: WorkloadSpec,
    progress: bool = False,
    *,
    edge_cases: EdgeCaseRates = DEFAULT_EDGE_CASES,
) -> Workload:
    """N Sealos-like Ingresses and the TLS Secrets they name, from ``spec`` alone.

    Ingresses come in plan order (namespaces hold consecutive apps); Secrets in the order
    the Ingresses first need them. ``progress`` draws a rich progress bar on stderr.
    """
    if spec.ingresses < 0:
        raise ValueError(f"ingresses must be >= 0, got {spec.ingresses}")
    if not 0.0 <= spec.custom_domain_share <= 1.0:
        share = spec.custom_domain_share
        raise ValueError(f"custom_domain_share must be within [0, 1], got {share}")
    with paused_gc():
        return _generate(spec, progress, edge_cases)


def _generate(spec: WorkloadSpec, progress: bool, edge_cases: EdgeCaseRates) -> Workload:
    rng = random.Random(spec.seed)
    factory = IngressFactory(rng, spec.domain, spec.seed)
    slots = _plan(spec, factory)
    _place_special_cases(spec, edge_cases, slots, rng)

    ingresses: list[V1Ingress] = []
    secrets: list[V1Secret] = []
    wildcard_namespaces: set[str] = set()
    with _progress_bar(progress, len(slots)) as advance:
        for i, slot in enumerate(slots):
            if slot.edge is EdgeCase.REDIRECT:
                ingress = factory.redirect_for(ingresses[-1])
                secret = None
            else:
                ingress, secret = factory.ingress(
                    slot.producer,
                    slot.namespace,
                    slot.app,
                    slot.port,
                    template=slot.template,
                    index_in_app=slot.index_in_app,
                    custom=slot.custom,
                    edge=slot.edge,
                )
            ingresses.append(ingress)
            if secret is not None:
                secrets.append(secret)
            elif (
                ingress.spec is not None
                and ingress.spec.tls
                and ingress.spec.tls[0].secret_name == WILDCARD_SECRET
                and slot.namespace not in wildcard_namespaces
            ):
                wildcard_namespaces.add(slot.namespace)
                secrets.append(factory.wildcard_secret(slot.namespace))
            if i % 500 == 0:
                advance(i)
        advance(len(slots))
    return Workload(
        ingresses=ingresses,
        secrets=secrets,
        spec=spec,
        source="generated",
        domain=spec.domain,
    )
