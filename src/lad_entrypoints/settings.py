"""Settings from the environment (``LAD_*``); nothing is read at import."""

from __future__ import annotations

import base64
import ipaddress
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MEMORY_URL = "memory://"
#: A rate limit setting's value that turns the limit off.
RATE_LIMIT_OFF = "off"


def revealed(secret: SecretStr | None) -> str | None:
    """A secret setting's value, where it is used (never where it could be printed)."""
    return None if secret is None else secret.get_secret_value()


class Settings(BaseSettings):
    # hide_input_in_errors: a refused value (a database URL with its password, a secret
    # too short) is never quoted in the error.
    model_config = SettingsConfigDict(env_prefix="LAD_", extra="ignore",
                                      hide_input_in_errors=True)

    database_url: str = Field(
        default="sqlite:///var/lad.sqlite3", repr=False,
        description="sqlite:///PATH, postgresql+psycopg://..., or memory:// for the in-memory "
        "adapters",
    )
    migration_database_url: str | None = Field(
        default=None, repr=False,
        description="The table owner's URL for migrations on PostgreSQL (the application "
        "role must not own the tables, or row-level security would not apply to it)",
    )
    state_dir: Path = Field(default=Path("var"), description="Local files: the SQLite "
                            "database, the generated JWT secret, attachments")
    jwt_secret: SecretStr | None = Field(
        default=None, repr=False, description="HS256 secret, 32+ bytes, that signs access "
        "tokens; generated into state_dir when unset")
    cursor_secret: SecretStr | None = Field(
        default=None, repr=False, description="Signs pagination cursors, 32+ bytes; unset: "
        "derived from the JWT secret")
    token_ttl_minutes: int = Field(default=720, ge=1)
    operator_token: SecretStr | None = Field(
        default=None, repr=False, description="Bearer token of the platform operator on "
        "HTTP; unset: no operator on HTTP")
    allow_rls_bypass: bool = Field(
        default=False,
        description="Serve even when the database role bypasses row-level security (a "
        "superuser or the tables' owner on PostgreSQL): for local experiments only; every "
        "start warns",
    )
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_keys: SecretStr | None = Field(
        default=None, repr=False,
        description="Keys sealing mailbox passwords at rest (AES-256-GCM): comma-separated "
        "URL-safe base64 32-byte keys, the first one current (`lad outreach rotate-key` "
        "re-seals with it); unset: one generated into state_dir")
    cors_origins: str | None = Field(
        default=None, description="Origins a browser front end may call the API from, "
        "comma-separated (https://app.example.com), or *; unset: no cross-origin calls")
    public_url: str = Field(default="http://127.0.0.1:8000", description="Where the API "
                            "is reached from the internet: unsubscribe and open links in "
                            "emails point here")
    unipile_url: str | None = Field(default=None, description="Unipile's API base URL "
                                    "(https://apiX.unipile.com:PORT); unset: LinkedIn steps "
                                    "wait")
    unipile_api_key: SecretStr | None = Field(default=None, repr=False)
    unipile_webhook_secret: SecretStr | None = Field(
        default=None, repr=False, description="The Unipile-Auth header Unipile's webhooks "
        "carry; unset: /v1/webhooks/unipile refuses every call")
    mail_ca_file: Path | None = Field(default=None, description="A PEM file of extra "
                                      "certificate authorities SMTP and IMAP servers are "
                                      "trusted by (a private CA); unset: the system's")
    worker_poll_seconds: float = Field(default=1.0, gt=0, le=60, description="How long "
                                       "an idle worker waits before it looks for due work")
    worker_lease_seconds: int = Field(default=600, ge=30, le=86_400, description="How "
                                      "long a claim holds an enrollment; a send not settled "
                                      "by then is presumed lost with its worker")
    embedded_worker: bool | None = Field(
        default=None, description="Run the campaign worker on a thread inside `lad serve`; "
        "unset: yes on SQLite and memory://, no on PostgreSQL (run `lad worker` processes)")
    mailbox_poll_seconds: int = Field(default=120, ge=10, description="How often the "
                                      "worker reads replies and bounces over IMAP")
    vapi_url: str = Field(default="https://api.vapi.ai", description="Vapi's API")
    vapi_api_key: SecretStr | None = Field(default=None, repr=False, description="Vapi's API "
                                     "key; unset (or no webhook secret): agents of provider "
                                     "vapi wait, and /v1/webhooks/voice/vapi answers 404")
    vapi_webhook_secret: SecretStr | None = Field(default=None, repr=False, description="The "
                                            "HMAC secret of Vapi's server messages")
    vapi_phone_number_id: str | None = Field(default=None, description="The Vapi phone "
                                             "number calls go out from")
    retell_url: str = Field(default="https://api.retellai.com", description="Retell's API")
    retell_api_key: SecretStr | None = Field(default=None, repr=False, description="Retell's API "
                                       "key (it also signs Retell's webhooks); unset: agents "
                                       "of provider retell wait")
    retell_webhook_secret: SecretStr | None = Field(default=None, repr=False, description="The "
                                              "key Retell's webhooks are signed with, when "
                                              "not the API key")
    retell_from_number: str | None = Field(default=None, description="The number Retell "
                                           "calls go out from (E.164)")
    voice_local_url: str | None = Field(default=None, description="A running local call "
                                        "service (simulated calls) agents of provider local "
                                        "use; unset: `lad serve` and `lad worker` start one "
                                        "on loopback, posting its webhooks to LAD_PUBLIC_URL")
    voice_local_secret: SecretStr | None = Field(default=None, repr=False, description="The "
                                           "local call service's webhook secret; unset: "
                                           "derived from the JWT secret")
    voice_local_speed: float = Field(default=1.0, gt=0, le=10_000, description="Simulated "
                                     "call seconds per real second (the local provider)")
    voice_tenant_concurrency: int = Field(default=10, ge=1, le=1000, description="Calls "
                                          "of one tenant in flight at once")
    voice_total_concurrency: int = Field(default=20, ge=1, le=10_000, description="Calls "
                                         "in flight at once in all: keep it below the "
                                         "providers' own limits, past which they drop calls")
    icp_model: Literal["rules", "openai"] = Field(
        default="rules", description="What reads the ICP assistant's messages: rules (the "
        "offline extractor: free, no network) or openai (an OpenAI-compatible chat model at "
        "LAD_LLM_BASE_URL, with LAD_LLM_API_KEY)")
    llm_base_url: str | None = Field(default=None, description="The OpenAI-compatible API "
                                     "the assistant's model is reached at; unset: "
                                     "https://api.openai.com/v1")
    llm_api_key: SecretStr | None = Field(default=None, repr=False, description="The model's "
                                    "API key; unset with LAD_ICP_MODEL=openai: the assistant "
                                    "answers 503 naming this setting")
    llm_model: str = Field(default="gpt-4o-mini", min_length=1, max_length=200,
                           description="The chat model's name (its tokens are priced by "
                           "provider and model from the price list)")
    apollo_url: str = Field(default="https://api.apollo.io/api/v1", description="Apollo's "
                            "API")
    apollo_api_key: SecretStr | None = Field(default=None, repr=False, description="Apollo's API "
                                       "key; unset: the simulated Apollo when "
                                       "LAD_APOLLO_LOCAL is on, else enrichment answers 503 "
                                       "naming this setting")
    apollo_local: bool = Field(default=True, description="Without an Apollo key, serve "
                               "searches from a simulated Apollo started on loopback "
                               "(fictional people and companies)")
    enrichment_cache_ttl_hours: int = Field(default=168, ge=1, le=8760, description="How "
                                            "long a search page, a person or a company "
                                            "Apollo returned is served from the cache "
                                            "(free) before Apollo is asked again")
    jwt_previous_secrets: SecretStr | None = Field(
        default=None, repr=False, description="JWT secrets replaced by LAD_JWT_SECRET whose "
        "tokens are still accepted, comma-separated, during a key rotation; unset: only "
        "LAD_JWT_SECRET's tokens")
    redis_url: str | None = Field(
        default=None, repr=False, description="redis://[:PASSWORD@]HOST:PORT/DB: rate "
        "limits are counted there, shared by every worker and server; unset: in each "
        "process's memory")
    rate_limit_per_key: str = Field(
        default="600/minute", description="Requests per API key (or per member's login "
        "token), e.g. 600/minute or 20/second;600/minute; off: none")
    rate_limit_per_tenant: str = Field(
        default="3000/minute", description="Requests per tenant, all its keys and members "
        "together; off: none")
    login_limit_per_email: str = Field(
        default="10/minute", description="Login attempts per email address, from anywhere; "
        "off: none")
    login_limit_per_address: str = Field(
        default="30/minute", description="Login attempts per client address, whatever the "
        "email; off: none")
    trusted_proxies: str | None = Field(
        default=None, description="Addresses or networks (comma-separated, e.g. "
        "10.0.0.0/8) of reverse proxies whose X-Forwarded-For names the client; unset: the "
        "connection's peer is the client")
    argon2_concurrency: int = Field(
        default=4, ge=1, le=1024, description="Password hashes and checks running at once "
        "(each holds LAD_ARGON2_MEMORY_KIB of memory)")
    argon2_wait_seconds: float = Field(
        default=1.0, ge=0, le=60, description="How long a login waits for a free hashing "
        "slot before it is answered 503 with Retry-After")
    metrics_token: SecretStr | None = Field(
        default=None, repr=False, min_length=16, description="The bearer token GET /metrics "
        "answers (Authorization: Bearer <token>; 401 without it); unset: /metrics answers "
        "anyone, so firewall it from everyone but the Prometheus scraper")
    log_format: Literal["json", "console", "auto"] = Field(
        default="auto", description="Log lines as JSON (one object a line), readable "
        "console text, or auto: console on a terminal, else JSON")
    log_level: str = Field(default="INFO", pattern=r"(?i)^(debug|info|warning|error|critical)$",
                           description="The least severe log lines written")
    idempotency_ttl_hours: int = Field(default=24, ge=1, le=720, description="How long an "
                                       "Idempotency-Key is remembered: a retry within it "
                                       "gets the first answer; after it the key is new")

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _supported_url(cls, url: str | None) -> str | None:
        if url is None or url == MEMORY_URL:
            return url
        if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
            return url
        if url.startswith(("postgresql://", "postgresql+psycopg://")):
            return url.replace("postgresql://", "postgresql+psycopg://", 1)
        raise ValueError("must be sqlite:///PATH, postgresql+psycopg://USER@HOST/DB or "
                         "memory:// (for an in-memory database use memory://)")

    @field_validator("operator_token", "cursor_secret")
    @classmethod
    def _long_secret(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return token

    @field_validator("rate_limit_per_key", "rate_limit_per_tenant", "login_limit_per_email",
                     "login_limit_per_address")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        value = value.strip()
        if value.lower() == RATE_LIMIT_OFF:
            return RATE_LIMIT_OFF
        try:
            from limits import parse_many
        except ImportError:  # pragma: no cover - the core install serves no HTTP
            return value
        try:
            parse_many(value)
        except ValueError:
            raise ValueError("must be a rate like 600/minute, 10/second;600/minute or 5 per "
                             "10 seconds, or off") from None
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for part in value.split(","):
            if not part.strip():
                continue
            try:
                ipaddress.ip_network(part.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{part.strip()!r} is not an IP address or network") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://", "redis+unix://")):
            raise ValueError("must be redis://HOST:PORT/DB, rediss://... or redis+unix://PATH")
        return url

    @property
    def is_memory(self) -> bool:
        return self.database_url == MEMORY_URL

    @property
    def migration_url(self) -> str:
        return self.migration_database_url or self.database_url

    def resolved_secret_keys(self) -> str:
        """The configured keys, else one kept in the state directory (memory: a fresh one
        per process)."""
        if self.secret_keys:
            return self.secret_keys.get_secret_value()
        fresh = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        if self.is_memory:
            return fresh
        path = self.state_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(fresh)
            path.chmod(0o600)
        return path.read_text().strip()

    def previous_jwt_secrets(self) -> list[str]:
        """The JWT secrets still accepted during a rotation (LAD_JWT_PREVIOUS_SECRETS)."""
        if self.jwt_previous_secrets is None:
            return []
        return [part.strip() for part in self.jwt_previous_secrets.get_secret_value().split(",")
                if part.strip()]

    def resolved_jwt_secret(self) -> str:
        """The configured secret, else one kept in the state directory so that tokens
        survive restarts of the embedded setup (memory: a fresh one per process)."""
        if self.jwt_secret:
            return self.jwt_secret.get_secret_value()
        if self.is_memory:
            return secrets.token_urlsafe(48)
        path = self.state_dir / "jwt_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
