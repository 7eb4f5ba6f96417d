"""Unit tests of pages_ops.config: every environment variable, its default and its rejected values."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pages_ops import config
from pages_ops.config import Settings, parse_boolean, parse_project_list
from pages_ops.errors import ConfigError, PagesOpsError
from tests.conftest import FAKE_ACCOUNT_ID

REQUIRED = {
    "CLOUDFLARE_ACCOUNT_ID": FAKE_ACCOUNT_ID,
    "CLOUDFLARE_SECRET_ID": "cf-pages-ops/cloudflare",
    "PAGES_PROJECTS": "docs",
}
TRUE_WORDS = ["true", "TRUE", "True", "tRuE", "1", "yes", "YES", "Yes", " yes ", "true\n"]
FALSE_WORDS = ["false", "FALSE", "False", "0", "no", "NO", "No", " no "]
NOT_BOOLEANS = ["on", "off", "y", "n", "2", "-1", "tru", "yes please", "enabled", "t", "f", "1.0"]
BOOLEAN_VARIABLES = [
    ("SKIP_IF_BUILDING", "skip_if_building"),
    ("DELETE_ALIASED", "delete_aliased"),
    ("DRY_RUN", "dry_run"),
]
# (variable, field, minimum, maximum)
INTEGER_VARIABLES = [
    ("RETENTION_DAYS", "retention_days", 0, 3650),
    ("KEEP_LATEST", "keep_latest", 0, 1000),
    ("MAX_DELETES_PER_RUN", "max_deletes_per_run", 1, 100_000),
    ("PRUNE_CONCURRENCY", "prune_concurrency", 1, 16),
    ("STATUS_CACHE_SECONDS", "status_cache_seconds", 0, 86_400),
]


def settings_from(**overrides: str) -> Settings:
    return Settings.from_env({**REQUIRED, **overrides})


def config_error(**overrides: str) -> str:
    with pytest.raises(ConfigError) as caught:
        settings_from(**overrides)
    return str(caught.value)


def test_defaults() -> None:
    settings = Settings.from_env(REQUIRED)

    assert settings == Settings(
        account_id=FAKE_ACCOUNT_ID,
        secret_id="cf-pages-ops/cloudflare",
        projects=("docs",),
        api_base_url="https://api.cloudflare.com/client/v4",
        rate_limit_per_minute=120.0,
        trigger_branch=None,
        skip_if_building=True,
        idempotency_table=None,
        retention_days=7,
        keep_latest=3,
        delete_aliased=False,
        dry_run=False,
        max_deletes_per_run=300,
        prune_concurrency=4,
        status_cache_seconds=30,
    )


def test_blank_optional_variables_use_defaults() -> None:
    names = [
        "CLOUDFLARE_API_BASE_URL",
        "CLOUDFLARE_RATE_LIMIT_PER_MINUTE",
        "TRIGGER_BRANCH",
        "SKIP_IF_BUILDING",
        "IDEMPOTENCY_TABLE",
        "RETENTION_DAYS",
        "KEEP_LATEST",
        "DELETE_ALIASED",
        "DRY_RUN",
        "MAX_DELETES_PER_RUN",
        "PRUNE_CONCURRENCY",
        "STATUS_CACHE_SECONDS",
    ]

    settings = settings_from(**dict.fromkeys(names, "  "))

    assert settings == Settings.from_env(REQUIRED)


def test_every_variable_set() -> None:
    settings = settings_from(
        CLOUDFLARE_API_BASE_URL="http://127.0.0.1:8787/client/v4/",
        CLOUDFLARE_RATE_LIMIT_PER_MINUTE="60",
        PAGES_PROJECTS="docs,blog",
        TRIGGER_BRANCH="release/2024-06",
        SKIP_IF_BUILDING="no",
        IDEMPOTENCY_TABLE="cf-pages-ops-idempotency",
        RETENTION_DAYS="30",
        KEEP_LATEST="5",
        DELETE_ALIASED="yes",
        DRY_RUN="1",
        MAX_DELETES_PER_RUN="50",
        PRUNE_CONCURRENCY="8",
        STATUS_CACHE_SECONDS="120",
    )

    assert settings.api_base_url == "http://127.0.0.1:8787/client/v4"
    assert settings.rate_limit_per_minute == 60.0
    assert settings.projects == ("docs", "blog")
    assert settings.trigger_branch == "release/2024-06"
    assert settings.skip_if_building is False
    assert settings.idempotency_table == "cf-pages-ops-idempotency"
    assert settings.retention_days == 30
    assert settings.keep_latest == 5
    assert settings.delete_aliased is True
    assert settings.dry_run is True
    assert settings.max_deletes_per_run == 50
    assert settings.prune_concurrency == 8
    assert settings.status_cache_seconds == 120


def test_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DRY_RUN", "TRUE")
    monkeypatch.delenv("RETENTION_DAYS", raising=False)

    settings = Settings.from_env()

    assert settings.account_id == FAKE_ACCOUNT_ID
    assert settings.dry_run is True
    assert settings.retention_days == 7


def test_variable_name_constants() -> None:
    names = {
        config.CLOUDFLARE_ACCOUNT_ID,
        config.CLOUDFLARE_SECRET_ID,
        config.CLOUDFLARE_API_BASE_URL,
        config.PAGES_PROJECTS,
        config.CLOUDFLARE_RATE_LIMIT_PER_MINUTE,
        config.TRIGGER_BRANCH,
        config.SKIP_IF_BUILDING,
        config.IDEMPOTENCY_TABLE,
        config.RETENTION_DAYS,
        config.KEEP_LATEST,
        config.DELETE_ALIASED,
        config.DRY_RUN,
        config.MAX_DELETES_PER_RUN,
        config.PRUNE_CONCURRENCY,
        config.STATUS_CACHE_SECONDS,
    }

    assert len(names) == 15
    assert all(getattr(config, name) == name for name in names)


def test_settings_frozen() -> None:
    settings = Settings.from_env(REQUIRED)

    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.dry_run = True  # type: ignore[misc]


def test_config_error_types() -> None:
    assert issubclass(ConfigError, PagesOpsError)
    assert issubclass(ConfigError, ValueError)


# Required variables.
@pytest.mark.parametrize("variable", sorted(REQUIRED))
@pytest.mark.parametrize("value", [None, "", "   "], ids=["missing", "empty", "blank"])
def test_required_missing(variable: str, value: str | None) -> None:
    environ = dict(REQUIRED)
    if value is None:
        del environ[variable]
    else:
        environ[variable] = value

    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ)

    assert str(caught.value) == f"{variable} is required but is missing or empty"


@pytest.mark.parametrize(
    "value",
    [
        FAKE_ACCOUNT_ID.upper(),
        FAKE_ACCOUNT_ID[:-1],
        FAKE_ACCOUNT_ID + "0",
        "g" * 32,
        "ops@example.com",
        "0123456789abcdef-0123456789abcde",
    ],
)
def test_account_id_invalid(value: str) -> None:
    message = config_error(CLOUDFLARE_ACCOUNT_ID=value)

    assert message == (
        f"CLOUDFLARE_ACCOUNT_ID must be the 32-character lower-case hex account id, got {value!r}"
    )


def test_account_id_stripped() -> None:
    assert settings_from(CLOUDFLARE_ACCOUNT_ID=f" {FAKE_ACCOUNT_ID}\n").account_id == FAKE_ACCOUNT_ID


def test_secret_id_arn() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cf-pages-ops/cloudflare-AbCdEf"

    assert settings_from(CLOUDFLARE_SECRET_ID=arn).secret_id == arn


# Project list.
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("docs", ("docs",)),
        ("docs,blog", ("docs", "blog")),
        (" docs , blog ,shop ", ("docs", "blog", "shop")),
        ("docs,,blog,", ("docs", "blog")),
        ("docs,blog,docs", ("docs", "blog")),
        ("marketing-site,0day,a", ("marketing-site", "0day", "a")),
    ],
)
def test_project_list(value: str, expected: tuple[str, ...]) -> None:
    assert settings_from(PAGES_PROJECTS=value).projects == expected


@pytest.mark.parametrize(
    "name", ["Docs", "-docs", "a/b", "x?y", "..", "dócs", "my site", "a" * 64, "docs;blog"]
)
def test_project_list_invalid_name(name: str) -> None:
    message = config_error(PAGES_PROJECTS=f"docs,{name}")

    assert message.startswith(f"PAGES_PROJECTS contains an invalid Pages project name {name.strip()!r}")


@pytest.mark.parametrize("value", [",", ", ,", ",,,"])
def test_project_list_empty(value: str) -> None:
    assert config_error(PAGES_PROJECTS=value) == (
        f"PAGES_PROJECTS must name at least one Pages project, got {value!r}"
    )


def test_parse_project_list_names_variable() -> None:
    with pytest.raises(ConfigError, match=r"^event input must name at least one"):
        parse_project_list(" , ", variable="event input")


def test_manages() -> None:
    settings = settings_from(PAGES_PROJECTS="docs,blog")

    assert settings.manages("docs") is True
    assert settings.manages("blog") is True
    assert settings.manages("shop") is False
    assert settings.manages("Docs") is False
    assert settings.manages("") is False


# API base URL.
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://api.cloudflare.com/client/v4", "https://api.cloudflare.com/client/v4"),
        ("https://api.cloudflare.com/client/v4/", "https://api.cloudflare.com/client/v4"),
        ("https://proxy.example.com:8443/cf/client/v4", "https://proxy.example.com:8443/cf/client/v4"),
        ("http://127.0.0.1:8787/client/v4", "http://127.0.0.1:8787/client/v4"),
        ("http://localhost:8787/client/v4", "http://localhost:8787/client/v4"),
        ("http://LOCALHOST:8787/client/v4", "http://LOCALHOST:8787/client/v4"),
        ("http://[::1]:8787/client/v4", "http://[::1]:8787/client/v4"),
    ],
)
def test_base_url(value: str, expected: str) -> None:
    assert settings_from(CLOUDFLARE_API_BASE_URL=value).api_base_url == expected


@pytest.mark.parametrize(
    "value",
    [
        "http://api.cloudflare.com/client/v4",
        "http://example.com:8787/client/v4",
        "http://127.0.0.1.example.com/client/v4",
        "http://localhost.example.com/client/v4",
        "http://10.0.0.5:8787/client/v4",
        "http://169.254.169.254/latest",
        "ftp://api.cloudflare.com/client/v4",
        "https://api.cloudflare.com/client/v4?token=x",
        "https://api.cloudflare.com/client/v4#frag",
        "https://",
        "api.cloudflare.com/client/v4",
        "not a url",
        "file:///etc/passwd",
    ],
)
def test_base_url_rejected(value: str) -> None:
    message = config_error(CLOUDFLARE_API_BASE_URL=value)

    assert message == (
        "CLOUDFLARE_API_BASE_URL must be an https URL without query or fragment "
        f"(http only on 127.0.0.1, localhost or ::1), got {value!r}"
    )


@pytest.mark.parametrize(
    "value",
    ["https://user:fake-password@api.cloudflare.com/client/v4", "https://user@api.cloudflare.com/client/v4"],
)
def test_base_url_with_credentials_rejected(value: str) -> None:
    message = config_error(CLOUDFLARE_API_BASE_URL=value)

    assert message == (
        "CLOUDFLARE_API_BASE_URL must not contain a user name or password: remove the part before '@'"
    )
    assert "fake-password" not in message


# Booleans.
@pytest.mark.parametrize(("variable", "field"), BOOLEAN_VARIABLES)
@pytest.mark.parametrize("word", TRUE_WORDS)
def test_boolean_true(variable: str, field: str, word: str) -> None:
    assert getattr(settings_from(**{variable: word}), field) is True


@pytest.mark.parametrize(("variable", "field"), BOOLEAN_VARIABLES)
@pytest.mark.parametrize("word", FALSE_WORDS)
def test_boolean_false(variable: str, field: str, word: str) -> None:
    assert getattr(settings_from(**{variable: word}), field) is False


@pytest.mark.parametrize(("variable", "field"), BOOLEAN_VARIABLES)
@pytest.mark.parametrize("word", NOT_BOOLEANS)
def test_boolean_rejected(variable: str, field: str, word: str) -> None:
    message = config_error(**{variable: word})

    assert message == f"{variable} must be one of true, false, 1, 0, yes, no (any case), got {word!r}"


def test_parse_boolean_names_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_boolean("maybe", variable="event key 'dry_run'")

    assert str(caught.value) == (
        "event key 'dry_run' must be one of true, false, 1, 0, yes, no (any case), got 'maybe'"
    )


# Whole numbers.
@pytest.mark.parametrize(("variable", "field", "minimum", "maximum"), INTEGER_VARIABLES)
def test_integer_bounds_accepted(variable: str, field: str, minimum: int, maximum: int) -> None:
    assert getattr(settings_from(**{variable: str(minimum)}), field) == minimum
    assert getattr(settings_from(**{variable: str(maximum)}), field) == maximum
    assert getattr(settings_from(**{variable: f" {maximum} "}), field) == maximum


@pytest.mark.parametrize(("variable", "field", "minimum", "maximum"), INTEGER_VARIABLES)
def test_integer_out_of_range(variable: str, field: str, minimum: int, maximum: int) -> None:
    for value in (str(minimum - 1), str(maximum + 1), "-100"):
        message = config_error(**{variable: value})
        assert message == f"{variable} must be between {minimum} and {maximum}, got {value!r}"


@pytest.mark.parametrize(("variable", "field", "minimum", "maximum"), INTEGER_VARIABLES)
@pytest.mark.parametrize("value", ["7.5", "7.0", "abc", "1e3", "0x10", "seven", "3 days", "∞"])
def test_integer_not_whole(variable: str, field: str, minimum: int, maximum: int, value: str) -> None:
    assert config_error(**{variable: value}) == f"{variable} must be a whole number, got {value!r}"


@pytest.mark.parametrize("value", ["1_000", "7.5", "٣", "1e3", "0x10"])
def test_integer_rejects_other_notations(value: str) -> None:
    assert (
        config_error(MAX_DELETES_PER_RUN=value)
        == f"MAX_DELETES_PER_RUN must be a whole number, got {value!r}"
    )


# Rate limit.
@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.1", 0.1), ("0.5", 0.5), (".5", 0.5), ("60", 60.0), ("240", 240.0), ("60.", 60.0)],
)
def test_rate_limit(value: str, expected: float) -> None:
    assert settings_from(CLOUDFLARE_RATE_LIMIT_PER_MINUTE=value).rate_limit_per_minute == expected


@pytest.mark.parametrize("value", ["0", "0.05", "-1", "240.5", "1200"])
def test_rate_limit_out_of_range(value: str) -> None:
    assert config_error(CLOUDFLARE_RATE_LIMIT_PER_MINUTE=value) == (
        f"CLOUDFLARE_RATE_LIMIT_PER_MINUTE must be between 0.1 and 240, got {value!r}"
    )


@pytest.mark.parametrize("value", ["fast", "60/min", "1,5", "1e2", "1_0", "nan", "inf", "-inf"])
def test_rate_limit_not_number(value: str) -> None:
    assert config_error(CLOUDFLARE_RATE_LIMIT_PER_MINUTE=value) == (
        f"CLOUDFLARE_RATE_LIMIT_PER_MINUTE must be a number, got {value!r}"
    )


# Trigger branch.
@pytest.mark.parametrize(
    "value", ["main", "m", "release/2024-06", "feature/ünïcode", "dependabot/npm_and_yarn/x-1.2.3", "a" * 255]
)
def test_trigger_branch(value: str) -> None:
    assert settings_from(TRIGGER_BRANCH=value).trigger_branch == value


@pytest.mark.parametrize(
    "value",
    [
        " main",
        "main ",
        "main\n",
        "ma\nin",
        "ma\tin",
        "main\x00",
        "main\x7f",
        "main\x85",
        "\u00a0main",
        "main\u3000",
        "a" * 256,
    ],
)
def test_trigger_branch_rejected(value: str) -> None:
    assert config_error(TRIGGER_BRANCH=value) == (
        "TRIGGER_BRANCH must be a git branch name without control characters or surrounding "
        f"white space, got {value!r}"
    )


def test_idempotency_table_stripped() -> None:
    assert settings_from(IDEMPOTENCY_TABLE=" idempotency ").idempotency_table == "idempotency"


def test_first_bad_value_reported() -> None:
    message = config_error(CLOUDFLARE_ACCOUNT_ID="nope", DRY_RUN="maybe")

    assert message.startswith("CLOUDFLARE_ACCOUNT_ID ")


def test_settings_keyword_construction() -> None:
    fields: dict[str, Any] = {"account_id": FAKE_ACCOUNT_ID, "secret_id": "s", "projects": ("docs",)}

    settings = Settings(**fields)

    assert settings.api_base_url == config.DEFAULT_API_BASE_URL
    assert settings.max_deletes_per_run == config.DEFAULT_MAX_DELETES_PER_RUN
