"""The configured call providers by name (``lad_domain.voice.ports.VoiceProviders``):
Vapi and Retell when their keys are set, and the local provider, against a running local
call service or, by default, one started on loopback when first asked for (the embedded
default: simulated calls whose webhooks come back to this installation)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence

import attrs

from lad_adapters.voice.local import LocalCallService, LocalVoiceProvider
from lad_adapters.voice.retell import RetellProvider
from lad_adapters.voice.vapi import VapiProvider
from lad_domain.shared.errors import NotFound
from lad_domain.voice.ports import VoiceProvider

#: What each provider needs, named as the settings are.
NEEDS = {"vapi": "LAD_VAPI_API_KEY and LAD_VAPI_WEBHOOK_SECRET",
         "retell": "LAD_RETELL_API_KEY", "local": "LAD_VOICE_LOCAL_URL"}


def local_secret(configured: str | None, jwt_secret: str) -> str:
    """The local call service's webhook secret: the one set, else derived from the JWT
    secret (so that a server and its workers agree without another setting)."""
    if configured:
        return configured
    return hashlib.sha256(b"lad-voice-local\0" + jwt_secret.encode()).hexdigest()


@attrs.define
class ConfiguredVoiceProviders:
    """Providers built when first asked for. ``builders``: name -> how to build it."""

    builders: dict[str, Callable[[], VoiceProvider]]
    _built: dict[str, VoiceProvider] = attrs.field(factory=dict)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    _services: list[LocalCallService] = attrs.field(factory=list)

    def get(self, name: str) -> VoiceProvider:
        with self._lock:
            if name in self._built:
                return self._built[name]
            builder = self.builders.get(name)
            if builder is None:
                needs = NEEDS.get(name)
                raise NotFound(f"no voice provider named {name!r} is configured"
                               + (f": set {needs}" if needs else ""))
            provider = self._built[name] = builder()
            return provider

    def names(self) -> Sequence[str]:
        return sorted(self.builders)

    def embedded_local(self, webhook_url: str, secret: str, *, speed: float) -> None:
        """The local provider over a call service started here, on loopback."""
        def build() -> VoiceProvider:
            service = LocalCallService(webhook_url, secret, speed=speed).start()
            self._services.append(service)
            return LocalVoiceProvider(service.url, secret)

        self.builders["local"] = build

    def close(self) -> None:
        with self._lock:
            for provider in self._built.values():
                close = getattr(provider, "close", None)
                if callable(close):
                    close()
            for service in self._services:
                service.stop()
            self._built.clear()
            self._services.clear()


def configured(*, vapi: tuple[str, str | None, str | None, str | None],
               retell: tuple[str, str | None, str | None, str | None],
               local_url: str | None, local_secret_: str, local_webhook_url: str,
               local_speed: float) -> ConfiguredVoiceProviders:
    """The providers the settings configure (see ``lad_entrypoints.settings``)."""
    builders: dict[str, Callable[[], VoiceProvider]] = {}
    vapi_url, vapi_key, vapi_secret, vapi_number = vapi
    if vapi_key and vapi_secret:
        builders["vapi"] = lambda: VapiProvider(vapi_url, vapi_key, vapi_secret,
                                                phone_number_id=vapi_number)
    retell_url, retell_key, retell_secret, retell_from = retell
    if retell_key:
        builders["retell"] = lambda: RetellProvider(retell_url, retell_key,
                                                    webhook_secret=retell_secret,
                                                    from_number=retell_from)
    registry = ConfiguredVoiceProviders(builders)
    if local_url:
        builders["local"] = lambda: LocalVoiceProvider(local_url, local_secret_)
    else:
        registry.embedded_local(local_webhook_url, local_secret_, speed=local_speed)
    return registry
