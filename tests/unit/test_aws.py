"""Unit tests of pages_ops.aws: one boto3 session per container for every AWS client."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from pages_ops import aws


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[boto3.session.Session]:
    """Record every boto3 session created while the test runs."""
    created: list[boto3.session.Session] = []
    real_session = boto3.session.Session

    def counting_session(*args: Any, **kwargs: Any) -> boto3.session.Session:
        session = real_session(*args, **kwargs)
        created.append(session)
        return session

    monkeypatch.setattr(boto3.session, "Session", counting_session)
    return created


def test_clients_share_one_session(sessions: list[boto3.session.Session]) -> None:
    provider = aws.secrets_provider()
    dynamodb = aws.client("dynamodb")

    assert len(sessions) == 1
    assert provider.client.meta.service_model.service_name == "secretsmanager"
    assert dynamodb.meta.service_model.service_name == "dynamodb"
    assert aws.secrets_provider() is provider


def test_reset_forgets_session(sessions: list[boto3.session.Session]) -> None:
    first = aws.secrets_provider()
    aws.reset()
    second = aws.secrets_provider()

    assert second is not first
    assert len(sessions) == 2


def test_override_replaces_provider(sessions: list[boto3.session.Session]) -> None:
    replacement: Any = object()
    aws.override(secrets_provider_value=replacement)

    assert aws.secrets_provider() is replacement
    assert sessions == []
