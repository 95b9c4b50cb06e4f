"""No secret a setting holds is ever printed with the settings: every field whose name
says it holds one (a secret, token, key or password) is a SecretStr, shown as stars, and
every URL that may carry a password (a database's, Redis's) is left out of their repr and
out of the errors a refused value gives."""

from __future__ import annotations

import re

import pydantic
import pytest
from pydantic import SecretStr

from lad_entrypoints.settings import Settings

SECRET_NAME = re.compile(r"secret|_token$|api_key|password|keys$|database_url$|redis_url$")
#: URLs stay text (SQLAlchemy and redis-py take them as such), out of the repr.
URL_NAME = re.compile(r"_url$")


def _secret_names() -> list[str]:
    return sorted(n for n in Settings.model_fields if SECRET_NAME.search(n))


def test_no_secret_setting_is_in_the_settings_repr() -> None:
    names = _secret_names()
    assert {"jwt_secret", "operator_token", "database_url", "llm_api_key",
            "apollo_api_key", "jwt_previous_secrets", "redis_url"} <= set(names)
    values = {name: f"marker-{name}-{'x' * 40}" for name in names}
    values["database_url"] = f"postgresql+psycopg://app:{values['database_url']}@db/lad"
    values["migration_database_url"] = (
        f"postgresql+psycopg://owner:{values['migration_database_url']}@db/lad")
    values["redis_url"] = f"redis://:{values['redis_url']}@cache:6379/0"
    values["secret_keys"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    settings = Settings(**values)  # type: ignore[arg-type]
    shown = repr(settings) + str(settings)
    leaked = sorted(name for name, value in values.items() if value in shown)
    assert leaked == []


def test_every_secret_setting_is_a_secret_str() -> None:
    secrets = [n for n in _secret_names() if not URL_NAME.search(n)]
    assert len(secrets) >= 14
    values = {name: f"marker-{name}-{'x' * 40}" for name in secrets}
    values["secret_keys"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    settings = Settings(**values)  # type: ignore[arg-type]
    for name in secrets:
        value = getattr(settings, name)
        assert isinstance(value, SecretStr), name
        assert value.get_secret_value() == values[name]
        assert str(value) == "**********"


@pytest.mark.parametrize("field", ["database_url", "migration_database_url", "redis_url"])
def test_a_refused_url_is_not_quoted_in_the_error(field: str) -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        Settings(**{field: "mysql://app:hunter2-password@db/lad"})  # type: ignore[arg-type]
    assert field in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_a_refused_secret_is_not_quoted_in_the_error() -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        Settings(operator_token="short-but-secret")  # type: ignore[arg-type]
    assert "operator_token" in str(refused.value)
    assert "short-but-secret" not in str(refused.value)
