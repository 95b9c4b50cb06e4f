"""Apollo for enrichment: the HTTP client (``client.py``), the simulated Apollo on
loopback (``local.py``, over ``population.py``), and the configured connection
(``ConfiguredApollo``): the real Apollo when a key is set, else, when allowed, the
simulated one started on first use (the embedded default)."""

from __future__ import annotations

import secrets
import threading

from lad_adapters.apollo.client import DEFAULT_URL, ApolloClient
from lad_adapters.apollo.local import LocalApollo
from lad_domain.enrichment.ports import Apollo
from lad_domain.shared.errors import Unavailable

__all__ = ["DEFAULT_URL", "ApolloClient", "ConfiguredApollo", "LocalApollo"]

NOT_CONFIGURED = ("enrichment is not configured: set LAD_APOLLO_API_KEY (or "
                  "LAD_APOLLO_LOCAL=1 for the built-in simulated Apollo)")


class ConfiguredApollo:
    """Implements ``ApolloConnection`` from the settings: ``api_key`` (the real Apollo at
    ``base_url``), else ``local`` (a ``LocalApollo`` started on loopback, with a random
    key, when first asked for), else ``get()`` raises ``Unavailable`` naming the
    settings. ``close()`` closes the client and stops the service it started."""

    def __init__(self, api_key: str | None, base_url: str = DEFAULT_URL, *,
                 local: bool = False, timeout: float = 20.0, max_retries: int = 2,
                 seed: int = 7) -> None:
        self._api_key = api_key or None
        self._base_url = base_url
        self._local = local
        self._timeout = timeout
        self._max_retries = max_retries
        self._seed = seed
        self._client: ApolloClient | None = None
        self._service: LocalApollo | None = None
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return self._api_key is not None or self._local

    @property
    def service(self) -> LocalApollo | None:
        """The simulated Apollo, once started."""
        return self._service

    def get(self) -> Apollo:
        with self._lock:
            if self._client is not None:
                return self._client
            if self._api_key is not None:
                self._client = self._build(self._base_url, self._api_key)
            elif self._local:
                key = secrets.token_urlsafe(24)
                self._service = LocalApollo(key, seed=self._seed).start()
                self._client = self._build(self._service.url, key)
            else:
                raise Unavailable(NOT_CONFIGURED)
            return self._client

    def _build(self, base_url: str, key: str) -> ApolloClient:
        return ApolloClient(base_url, key, timeout=self._timeout,
                            max_retries=self._max_retries)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._service is not None:
                self._service.stop()
                self._service = None

    def __repr__(self) -> str:
        where = ("apollo" if self._api_key else "local" if self._local else "unconfigured")
        return f"ConfiguredApollo({where})"
