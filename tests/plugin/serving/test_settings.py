from pathlib import Path

import pytest

from plugin.serving.settings import SettingsError, default_feedback_db, load_settings

CONFIG = """
public_base_url = "https://cds.example.org/"
policy_dir = "/etc/epidural-cds/policies"
feedback_db = "sqlite:///var/lib/epidural-cds/feedback.db"

[[trusted_clients]]
issuer = "https://ehr.example.org"
jwks_url = "https://ehr.example.org/.well-known/jwks.json"
fhir_servers = ["https://ehr.example.org/fhir"]

[[trusted_clients]]
issuer = "https://sandbox.cds-hooks.org"
jwks = { keys = [] }
"""


def test_the_contract_config_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    settings = load_settings(path)
    assert settings.public_base_url == "https://cds.example.org"
    assert [client.issuer for client in settings.trusted_clients] == [
        "https://ehr.example.org",
        "https://sandbox.cds-hooks.org",
    ]
    assert settings.trusted_clients[0].fhir_servers == ["https://ehr.example.org/fhir"]


def test_environment_overrides_top_level_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    settings = load_settings(
        path,
        {
            "EPIDURAL_CDS_FEEDBACK_DB": "postgresql://db/cds",
            "EPIDURAL_CDS_CORS_ALLOW_ORIGINS": '["https://ehr.example.org"]',
        },
    )
    assert settings.feedback_db == "postgresql://db/cds"
    assert settings.cors_allow_origins == ["https://ehr.example.org"]


def test_unknown_environment_setting_is_an_error() -> None:
    with pytest.raises(SettingsError, match="EPIDURAL_CDS_FEEDBACK"):
        load_settings(None, {"EPIDURAL_CDS_FEEDBACK": "x"})


def test_unknown_key_in_a_trusted_client_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[trusted_clients]]\nissuer = "x"\njwks_url = "https://x/jwks"\nfhir_server = ["https://x"]\n')
    with pytest.raises(SettingsError, match="fhir_server"):
        load_settings(path)


def test_client_needs_exactly_one_key_source(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[trusted_clients]]\nissuer = "x"\n')
    with pytest.raises(SettingsError, match="jwks_url or jwks"):
        load_settings(path)


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("public_base_url = \n")
    with pytest.raises(SettingsError, match=r"config\.toml is not valid TOML"):
        load_settings(path)


def test_the_default_database_is_in_the_users_data_directory_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_feedback_db({"XDG_DATA_HOME": "/srv/data"}) == "sqlite:////srv/data/epidural-cds/feedback.db"
    home_default = f"sqlite:///{Path.home()}/.local/share/epidural-cds/feedback.db"
    assert default_feedback_db({}) == home_default
    assert default_feedback_db({"XDG_DATA_HOME": "relative/dir"}) == home_default  # the XDG spec ignores these
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert load_settings(environ={}).feedback_db == home_default
