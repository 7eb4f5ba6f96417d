"""Local AWS for the demo and benchmarks: moto's server on 127.0.0.1 with the stack's secret and table.

The functions reach it exactly as they reach AWS, through boto3 and Powertools, with AWS_ENDPOINT_URL
pointing here. moto's server binds every interface by default, so the address is always given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final

# Obviously fake credentials: moto accepts any, and nothing here may look like a real key.
FAKE_AWS_ENV: Final = {
    "AWS_ACCESS_KEY_ID": "sandbox-not-a-real-key",
    "AWS_SECRET_ACCESS_KEY": "sandbox-not-a-real-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


class LocalAws:
    """moto's server on 127.0.0.1 and an OS-chosen port (or `port`)."""

    def __init__(self, port: int = 0) -> None:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - moto is a development dependency

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.endpoint_url = ""

    def start(self) -> LocalAws:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def environment(self) -> dict[str, str]:
        """Variables that point boto3 and Powertools at this server with fake credentials."""
        return {**FAKE_AWS_ENV, "AWS_ENDPOINT_URL": self.endpoint_url}

    def _client(self, service: str) -> Any:
        import boto3  # noqa: PLC0415 - only the demo and benchmarks need boto3 here

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=FAKE_AWS_ENV["AWS_DEFAULT_REGION"],
            aws_access_key_id=FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    def put_secret(self, name: str, value: Mapping[str, Any]) -> str:
        """Create or overwrite a Secrets Manager secret holding `value` as JSON, and return its ARN."""
        client = self._client("secretsmanager")
        text = json.dumps(value)
        try:
            return str(client.create_secret(Name=name, SecretString=text)["ARN"])
        except client.exceptions.ResourceExistsException:
            return str(client.put_secret_value(SecretId=name, SecretString=text)["ARN"])

    def create_idempotency_table(self, name: str) -> None:
        """Create the build trigger's idempotency table with the template's key schema and TTL attribute."""
        client = self._client("dynamodb")
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
        )


def apply_environment(values: Mapping[str, str]) -> None:
    """Set environment variables for the functions that run in this process."""
    os.environ.update(values)
