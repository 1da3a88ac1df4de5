"""Settings: defaults, validation at start-up, and the README documenting every one."""
import os

import pytest

from conf.settings import SETTINGS, SettingsError, load_settings

README = os.path.join(os.path.dirname(os.path.dirname(__file__)), "README.md")


def test_defaults_apply_when_the_environment_is_empty():
    settings = load_settings(env={})
    assert settings.port == 3000 and settings.log_dir == "./logs" and settings.mongodb_uri == ""


def test_environment_values_are_parsed():
    settings = load_settings(env={"PORT": "8080", "DEBUG": "true", "NODE_TYPE": "slave"})
    assert (settings.port, settings.debug, settings.node_type) == (8080, True, "slave")


def test_flags_override_the_environment():
    assert load_settings(env={"PORT": "8080"}, port=9000).port == 9000


@pytest.mark.parametrize("name,value", [("PORT", "zero"), ("PORT", "-1"), ("DEBUG", "maybe"),
                                        ("NODE_TYPE", "leader"), ("SYNC_FREQUENCY", "0")])
def test_bad_values_fail_fast_with_the_variable_named(name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings(env={name: value})


def test_readme_documents_every_setting():
    with open(README) as f:
        text = f.read()
    missing = [s.name.upper() for s in SETTINGS if f"`{s.name.upper()}`" not in text]
    assert not missing, f"README does not document {missing}"
