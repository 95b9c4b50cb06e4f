"""No secret a setting holds is ever printed with the settings: every field whose name
says it holds one (a secret, token, key or password, or a database URL, which may carry a
password) is left out of their repr."""

from __future__ import annotations

import re

from lad_entrypoints.settings import Settings

SECRET_NAME = re.compile(r"secret|_token$|api_key|password|keys$|database_url$")


def test_no_secret_setting_is_in_the_settings_repr() -> None:
    names = sorted(n for n in Settings.model_fields if SECRET_NAME.search(n))
    assert {"jwt_secret", "operator_token", "database_url", "llm_api_key",
            "apollo_api_key"} <= set(names)
    values = {name: f"marker-{name}-{'x' * 40}" for name in names}
    values["database_url"] = f"postgresql+psycopg://app:{values['database_url']}@db/lad"
    values["migration_database_url"] = (
        f"postgresql+psycopg://owner:{values['migration_database_url']}@db/lad")
    values["secret_keys"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    settings = Settings.model_construct(**values)
    shown = repr(settings) + str(settings)
    leaked = sorted(name for name, value in values.items() if value in shown)
    assert leaked == []
