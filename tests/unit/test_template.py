"""Checks of template.yaml against the configuration contract and the deployment rules.

The template is read as data, with short-form tags in their long form (see tools.cfn_template). Nothing
here runs the SAM transform or calls AWS. `make check-template` runs the linters on the same file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tools.cfn_template import REPOSITORY_ROOT, load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]
GLOBAL_FUNCTION: dict[str, Any] = TEMPLATE["Globals"]["Function"]
GLOBAL_VARIABLES: dict[str, Any] = GLOBAL_FUNCTION["Environment"]["Variables"]

FUNCTIONS = ["TriggerBuildFunction", "PruneDeploymentsFunction", "StatusPageFunction"]
SECRET_ARN = {"Fn::If": ["CreateSecret", {"Ref": "CloudflareSecret"}, {"Ref": "CloudflareSecretArn"}]}
DEAD_LETTER_QUEUE_ARN = {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
SCHEDULER_INPUT = {
    "scheduled_time": "<aws.scheduler.scheduled-time>",
    "execution_id": "<aws.scheduler.execution-id>",
}
IDEMPOTENCY_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
CLOUDWATCH_RETENTION_DAYS = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
]  # fmt: skip

# Per-function environment from the configuration contract, with the template value each one takes.
FUNCTION_VARIABLES: dict[str, dict[str, Any]] = {
    "TriggerBuildFunction": {
        "POWERTOOLS_SERVICE_NAME": "trigger-build",
        "TRIGGER_BRANCH": {"Fn::If": ["HasTriggerBranch", {"Ref": "TriggerBranch"}, {"Ref": "AWS::NoValue"}]},
        "SKIP_IF_BUILDING": {"Ref": "SkipIfBuilding"},
        "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
    },
    "PruneDeploymentsFunction": {
        "POWERTOOLS_SERVICE_NAME": "prune-deployments",
        "RETENTION_DAYS": {"Ref": "RetentionDays"},
        "KEEP_LATEST": {"Ref": "KeepLatest"},
        "DELETE_ALIASED": {"Ref": "DeleteAliased"},
        "DRY_RUN": {"Ref": "DryRun"},
        "MAX_DELETES_PER_RUN": {"Ref": "MaxDeletesPerRun"},
        "PRUNE_CONCURRENCY": {"Ref": "PruneConcurrency"},
    },
    "StatusPageFunction": {
        "POWERTOOLS_SERVICE_NAME": "status-page",
        "STATUS_CACHE_SECONDS": {"Ref": "StatusCacheSeconds"},
    },
}

STATUS_PAGE_ROUTES = {
    ("GET", "/"),
    ("GET", "/projects/{name}"),
    ("GET", "/api/projects/{name}"),
    ("GET", "/projects/{name}/badge.svg"),
    ("ANY", "/"),
    ("ANY", "/{proxy+}"),
}


def properties(logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = RESOURCES[logical_id]["Properties"]
    return props


def resources_of_type(resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in RESOURCES.items() if body["Type"] == resource_type}


def role_statements(function: str) -> list[dict[str, Any]]:
    role = properties(function)["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in properties(role)["Policies"]:
        statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(node: Any) -> Iterator[dict[str, Any]]:
    """Yield every IAM statement anywhere in the template: roles, queue policies, inline policies."""
    if isinstance(node, dict):
        if "Statement" in node and isinstance(node["Statement"], list):
            yield from node["Statement"]
        for value in node.values():
            yield from policy_statements(value)
    elif isinstance(node, list):
        for item in node:
            yield from policy_statements(item)


def schedule_events() -> dict[str, dict[str, Any]]:
    """Return the ScheduleV2 event properties of every function, keyed by function logical id."""
    schedules = {}
    for function in FUNCTIONS:
        for event in properties(function).get("Events", {}).values():
            if event["Type"] == "ScheduleV2":
                schedules[function] = event["Properties"]
    return schedules


# --- Globals and functions ---------------------------------------------------------------------------


def test_template_uses_sam_transform() -> None:
    assert TEMPLATE["Transform"] == "AWS::Serverless-2016-10-31"


def test_globals_runtime_architecture_memory() -> None:
    assert GLOBAL_FUNCTION["Runtime"] == "python3.13"
    assert GLOBAL_FUNCTION["Architectures"] == ["arm64"]
    assert GLOBAL_FUNCTION["MemorySize"] == 128
    assert GLOBAL_FUNCTION["Layers"] == [{"Ref": "PagesOpsLayer"}]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_inherits_runtime(function: str) -> None:
    props = properties(function)
    for key in ("Runtime", "Architectures", "MemorySize", "Layers"):
        assert key not in props, f"{function} overrides {key} from Globals"


def test_globals_powertools_environment() -> None:
    assert GLOBAL_VARIABLES["POWERTOOLS_SERVICE_NAME"] == "cf-pages-ops"
    assert GLOBAL_VARIABLES["POWERTOOLS_METRICS_NAMESPACE"] == "CfPagesOps"
    assert GLOBAL_VARIABLES["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}


def test_globals_common_environment() -> None:
    assert GLOBAL_VARIABLES["CLOUDFLARE_ACCOUNT_ID"] == {"Ref": "CloudflareAccountId"}
    assert GLOBAL_VARIABLES["CLOUDFLARE_SECRET_ID"] == SECRET_ARN
    assert GLOBAL_VARIABLES["CLOUDFLARE_API_BASE_URL"] == "https://api.cloudflare.com/client/v4"
    assert GLOBAL_VARIABLES["PAGES_PROJECTS"] == {"Ref": "PagesProjects"}
    assert GLOBAL_VARIABLES["CLOUDFLARE_RATE_LIMIT_PER_MINUTE"] == {"Ref": "CloudflareRateLimitPerMinute"}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_code_and_handler(function: str) -> None:
    props = properties(function)
    code_uri = props["CodeUri"]
    assert re.fullmatch(r"functions/[a-z_]+/", code_uri), code_uri
    assert (REPOSITORY_ROOT / code_uri).is_dir(), f"{code_uri} does not exist"
    assert props["Handler"] == "app.lambda_handler"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_environment(function: str) -> None:
    assert properties(function)["Environment"]["Variables"] == FUNCTION_VARIABLES[function]


def test_function_environment_values_are_strings() -> None:
    # Lambda takes only string values, so a bare YAML true or 300 would fail the deployment.
    for function in FUNCTIONS:
        variables = {**GLOBAL_VARIABLES, **properties(function)["Environment"]["Variables"]}
        for name, value in variables.items():
            assert isinstance(value, str | dict), f"{function} {name} is {value!r}"


def test_trigger_branch_unset_when_empty() -> None:
    assert TEMPLATE["Conditions"]["HasTriggerBranch"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "TriggerBranch"}, ""]}]
    }
    assert PARAMETERS["TriggerBranch"]["Default"] == ""


@pytest.mark.parametrize(
    ("function", "timeout"),
    [("TriggerBuildFunction", 60), ("PruneDeploymentsFunction", 300), ("StatusPageFunction", 10)],
)
def test_function_timeout(function: str, timeout: int) -> None:
    assert properties(function)["Timeout"] == timeout


def test_layer_built_with_makefile() -> None:
    layer = RESOURCES["PagesOpsLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    makefile = (REPOSITORY_ROOT / "shared" / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^build-PagesOpsLayer:", makefile, flags=re.MULTILINE)


# --- Permissions -------------------------------------------------------------------------------------


def test_iam_statements_name_resources() -> None:
    statements = list(policy_statements(RESOURCES))
    assert len(statements) >= 10
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        if "Resource" not in statement:
            # A trust policy names a principal, not a resource.
            assert set(statement) == {"Effect", "Principal", "Action"}, statement
            continue
        for resource in as_list(statement["Resource"]):
            assert isinstance(resource, dict) or "*" not in resource, statement
        for action in as_list(statement["Action"]):
            assert "*" not in action, statement


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_has_own_role(function: str) -> None:
    role = properties(function)["Role"]
    stem = function.removesuffix("Function")
    assert role == {"Fn::GetAtt": [f"{stem}Role", "Arn"]}
    trust = properties(f"{stem}Role")["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert "ManagedPolicyArns" not in properties(f"{stem}Role")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_secret_permission_names_secret(function: str) -> None:
    granting = [
        s for s in role_statements(function) if "secretsmanager:GetSecretValue" in as_list(s["Action"])
    ]
    assert len(granting) == 1
    assert as_list(granting[0]["Action"]) == ["secretsmanager:GetSecretValue"]
    assert granting[0]["Resource"] == SECRET_ARN


@pytest.mark.parametrize("function", FUNCTIONS)
def test_log_permission_names_log_group(function: str) -> None:
    stem = function.removesuffix("Function")
    logs = [s for s in role_statements(function) if any(a.startswith("logs:") for a in as_list(s["Action"]))]
    assert len(logs) == 1
    assert sorted(logs[0]["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs[0]["Resource"] == {"Fn::GetAtt": [f"{stem}LogGroup", "Arn"]}
    assert properties(function)["LoggingConfig"] == {"LogGroup": {"Ref": f"{stem}LogGroup"}}


def test_dynamodb_permission_only_trigger() -> None:
    for function in FUNCTIONS:
        dynamodb = [
            s
            for s in role_statements(function)
            if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))
        ]
        if function == "TriggerBuildFunction":
            assert len(dynamodb) == 1
            assert dynamodb[0]["Action"] == IDEMPOTENCY_ACTIONS
            assert dynamodb[0]["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
        else:
            assert dynamodb == [], function


@pytest.mark.parametrize("function", FUNCTIONS)
def test_role_grants_only_known_actions(function: str) -> None:
    actions = {action for s in role_statements(function) for action in as_list(s["Action"])}
    allowed = {"logs:CreateLogStream", "logs:PutLogEvents", "secretsmanager:GetSecretValue"}
    if function == "TriggerBuildFunction":
        allowed |= set(IDEMPOTENCY_ACTIONS)
    if function != "StatusPageFunction":
        allowed.add("sqs:SendMessage")
    assert actions == allowed


# --- Schedules and asynchronous invocation -----------------------------------------------------------


def test_scheduled_functions() -> None:
    assert set(schedule_events()) == {"TriggerBuildFunction", "PruneDeploymentsFunction"}


@pytest.mark.parametrize("function", ["TriggerBuildFunction", "PruneDeploymentsFunction"])
def test_schedule_retry_and_dead_letter_queue(function: str) -> None:
    schedule = schedule_events()[function]
    retry = schedule["RetryPolicy"]
    assert set(retry) == {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"}
    # Scheduler's accepted ranges.
    assert 0 <= retry["MaximumRetryAttempts"] <= 185
    assert 60 <= retry["MaximumEventAgeInSeconds"] <= 86400
    assert schedule["DeadLetterConfig"] == {"Arn": DEAD_LETTER_QUEUE_ARN}
    assert schedule["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimezone"}
    assert schedule["OmitName"] is True


@pytest.mark.parametrize("function", ["TriggerBuildFunction", "PruneDeploymentsFunction"])
def test_schedule_input_keys(function: str) -> None:
    assert json.loads(schedule_events()[function]["Input"]) == SCHEDULER_INPUT


def test_build_schedule_can_be_disabled() -> None:
    schedule = schedule_events()["TriggerBuildFunction"]
    assert schedule["State"] == {"Fn::If": ["BuildScheduleEnabled", "ENABLED", "DISABLED"]}
    expression = schedule["ScheduleExpression"]["Fn::If"]
    assert expression[:2] == ["BuildScheduleEnabled", {"Ref": "BuildSchedule"}]
    assert re.fullmatch(r"rate\(.+\)|cron\(.+\)", expression[2])
    assert TEMPLATE["Conditions"]["BuildScheduleEnabled"] == {
        "Fn::Not": [
            {
                "Fn::Or": [
                    {"Fn::Equals": [{"Ref": "BuildSchedule"}, ""]},
                    {"Fn::Equals": [{"Ref": "BuildSchedule"}, "none"]},
                ]
            }
        ]
    }


def test_prune_schedule_always_enabled() -> None:
    schedule = schedule_events()["PruneDeploymentsFunction"]
    assert schedule["ScheduleExpression"] == {"Ref": "PruneSchedule"}
    assert "State" not in schedule


@pytest.mark.parametrize(
    ("function", "retries"), [("TriggerBuildFunction", 2), ("PruneDeploymentsFunction", 0)]
)
def test_async_invoke_config(function: str, retries: int) -> None:
    config = properties(function)["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == retries
    assert 60 <= config["MaximumEventAgeInSeconds"] <= 21600
    assert config["DestinationConfig"] == {"OnFailure": {"Type": "SQS", "Destination": DEAD_LETTER_QUEUE_ARN}}
    senders = [s for s in role_statements(function) if "sqs:SendMessage" in as_list(s["Action"])]
    assert [s["Resource"] for s in senders] == [DEAD_LETTER_QUEUE_ARN]


def test_dead_letter_queue_encrypted() -> None:
    queue = properties("DeadLetterQueue")
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 1209600


def test_dead_letter_queue_policy_admits_schedules() -> None:
    policy = properties("DeadLetterQueuePolicy")
    assert policy["Queues"] == [{"Ref": "DeadLetterQueue"}]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    allow = statements["AllowSchedulerDeadLetters"]
    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Resource"] == DEAD_LETTER_QUEUE_ARN
    # SAM names a ScheduleV2 schedule <function logical id><event name>.
    expected_sources = [
        {"Fn::GetAtt": [f"{function}{event}", "Arn"]}
        for function in ("TriggerBuildFunction", "PruneDeploymentsFunction")
        for event, body in properties(function)["Events"].items()
        if body["Type"] == "ScheduleV2"
    ]
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": expected_sources}}
    deny = statements["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# --- Status page -------------------------------------------------------------------------------------


def test_http_api_routes() -> None:
    events = properties("StatusPageFunction")["Events"].values()
    routes = set()
    for event in events:
        assert event["Type"] == "HttpApi"
        assert event["Properties"]["ApiId"] == {"Ref": "StatusPageApi"}
        assert event["Properties"]["PayloadFormatVersion"] == "2.0"
        routes.add((event["Properties"]["Method"], event["Properties"]["Path"]))
    assert routes == STATUS_PAGE_ROUTES


def test_http_api_throttling() -> None:
    api = properties("StatusPageApi")
    assert RESOURCES["StatusPageApi"]["Type"] == "AWS::Serverless::HttpApi"
    assert api["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "StatusPageThrottleRate"},
        "ThrottlingBurstLimit": {"Ref": "StatusPageThrottleBurst"},
    }


def test_http_api_access_logs() -> None:
    settings = properties("StatusPageApi")["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["StatusPageAccessLogGroup", "Arn"]}
    fields = json.loads(settings["Format"])
    assert {"requestId", "routeKey", "status", "integrationError"} <= set(fields)
    # Headers and query strings may carry credentials (Basic auth), so the log records neither.
    for value in fields.values():
        assert value.startswith("$context."), value
        assert "header" not in value.lower()
        assert "querystring" not in value.lower()


def test_status_page_reserved_concurrency() -> None:
    assert properties("StatusPageFunction")["ReservedConcurrentExecutions"] == {
        "Ref": "StatusPageReservedConcurrency"
    }
    assert PARAMETERS["StatusPageReservedConcurrency"]["MinValue"] >= 1


# --- Data, logs, alarms ------------------------------------------------------------------------------


def test_idempotency_table() -> None:
    table = properties("IdempotencyTable")
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}


def test_log_groups_retention() -> None:
    log_groups = resources_of_type("AWS::Logs::LogGroup")
    assert set(log_groups) == {
        "TriggerBuildLogGroup",
        "PruneDeploymentsLogGroup",
        "StatusPageLogGroup",
        "StatusPageAccessLogGroup",
    }
    for name, body in log_groups.items():
        assert body["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
    assert PARAMETERS["LogRetentionDays"]["AllowedValues"] == CLOUDWATCH_RETENTION_DAYS


def test_stateful_resources_deletion_policy() -> None:
    for name, body in RESOURCES.items():
        if body["Type"] in {
            "AWS::Logs::LogGroup",
            "AWS::DynamoDB::Table",
            "AWS::SQS::Queue",
            "AWS::SecretsManager::Secret",
        }:
            assert body["DeletionPolicy"] == "Delete", name
            assert body["UpdateReplacePolicy"] == "Delete", name


def test_secret_created_empty_when_not_given() -> None:
    secret = RESOURCES["CloudflareSecret"]
    assert secret["Condition"] == "CreateSecret"
    assert "SecretString" not in secret["Properties"]
    assert "GenerateSecretString" not in secret["Properties"]
    assert TEMPLATE["Conditions"]["CreateSecret"] == {"Fn::Equals": [{"Ref": "CloudflareSecretArn"}, ""]}


def test_error_alarms() -> None:
    alarms = resources_of_type("AWS::CloudWatch::Alarm")
    errors = {
        body["Properties"]["Dimensions"][0]["Value"]["Ref"]: body["Properties"]
        for body in alarms.values()
        if body["Properties"]["MetricName"] == "Errors"
    }
    assert set(errors) == set(FUNCTIONS)
    for alarm in errors.values():
        assert alarm["Namespace"] == "AWS/Lambda"
        assert alarm["Dimensions"][0]["Name"] == "FunctionName"
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_dead_letter_queue_alarm() -> None:
    alarm = properties("DeadLetterQueueAlarm")
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}
    ]
    assert alarm["Threshold"] == 1


def test_alarms_notify_only_with_email() -> None:
    notify = {"Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]}
    for name, body in resources_of_type("AWS::CloudWatch::Alarm").items():
        assert body["Properties"]["AlarmActions"] == notify, name
        assert body["Properties"]["OKActions"] == notify, name
    assert RESOURCES["AlarmTopic"]["Condition"] == "HasAlarmEmail"
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def test_outputs() -> None:
    outputs = TEMPLATE["Outputs"]
    assert outputs["SecretArn"]["Value"] == SECRET_ARN
    assert outputs["DeadLetterQueueUrl"]["Value"] == {"Ref": "DeadLetterQueue"}
    assert outputs["DeadLetterQueueArn"]["Value"] == DEAD_LETTER_QUEUE_ARN
    assert outputs["IdempotencyTableName"]["Value"] == {"Ref": "IdempotencyTable"}
    assert "${StatusPageApi}" in outputs["StatusPageUrl"]["Value"]["Fn::Sub"]
    for function in FUNCTIONS:
        assert outputs[f"{function}Name"]["Value"] == {"Ref": function}
    for name, output in outputs.items():
        assert output["Description"], name


# --- Parameters --------------------------------------------------------------------------------------


def test_parameters_described_and_validated() -> None:
    for name, parameter in PARAMETERS.items():
        assert parameter["Description"].strip(), name
        validation = {"AllowedPattern", "AllowedValues", "MinValue"} & set(parameter)
        assert validation, f"{name} has no AllowedPattern, AllowedValues or MinValue"


SECRET_PREFIX = "arn:aws:secretsmanager:us-east-1:123456789012"


def parameter_accepts(name: str, value: str) -> bool:
    """Apply a parameter's CloudFormation constraints to `value` (AllowedPattern must match it whole)."""
    parameter = PARAMETERS[name]
    if "AllowedPattern" in parameter and not re.fullmatch(parameter["AllowedPattern"], value):
        return False
    if "AllowedValues" in parameter and value not in [str(v) for v in parameter["AllowedValues"]]:
        return False
    if len(value) > parameter.get("MaxLength", len(value)):
        return False
    if parameter["Type"] == "Number":
        number = float(value)
        if number < parameter.get("MinValue", number) or number > parameter.get("MaxValue", number):
            return False
    return True


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("PagesProjects", "docs", True),
        ("PagesProjects", "docs,marketing-site,app2", True),
        ("PagesProjects", "", False),
        ("PagesProjects", "docs, marketing", False),
        ("PagesProjects", "Docs", False),
        ("PagesProjects", "docs,", False),
        ("PagesProjects", "-docs", False),
        ("PagesProjects", ",".join(["project-name"] * 200), False),
        ("CloudflareAccountId", "0123456789abcdef0123456789abcdef", True),
        ("CloudflareAccountId", "0123456789ABCDEF0123456789ABCDEF", False),
        ("CloudflareAccountId", "0123456789abcdef", False),
        ("CloudflareSecretArn", "", True),
        ("CloudflareSecretArn", f"{SECRET_PREFIX}:secret:cf-pages-ops-AbC123", True),
        ("CloudflareSecretArn", f"{SECRET_PREFIX}:secret:team/cloudflare.token-AbC123", True),
        (
            "CloudflareSecretArn",
            "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:cf-AbC123",
            True,
        ),
        ("CloudflareSecretArn", f"{SECRET_PREFIX}:secret:cf-pages-ops", False),
        ("CloudflareSecretArn", "arn:aws:secretsmanager:us-east-1:12345:secret:cf-pages-ops-AbC123", False),
        ("CloudflareSecretArn", "cf-pages-ops", False),
        ("CloudflareSecretArn", "arn:aws:ssm:us-east-1:123456789012:parameter/cf-AbC123", False),
        ("BuildSchedule", "", True),
        ("BuildSchedule", "none", True),
        ("BuildSchedule", "rate(12 hours)", True),
        ("BuildSchedule", "cron(0 6 * * ? *)", True),
        ("BuildSchedule", "daily", False),
        ("BuildSchedule", "at(2026-03-02T06:00:00)", False),
        ("PruneSchedule", "rate(1 hour)", True),
        ("PruneSchedule", "cron(15 * * * ? *)", True),
        ("PruneSchedule", "", False),
        ("PruneSchedule", "none", False),
        ("TriggerBranch", "", True),
        ("TriggerBranch", "main", True),
        ("TriggerBranch", "release/2026.03", True),
        ("TriggerBranch", "feature x", False),
        ("TriggerBranch", "a:b", False),
        ("TriggerBranch", "topic~1", False),
        ("ScheduleTimezone", "UTC", True),
        ("ScheduleTimezone", "Europe/Berlin", True),
        ("ScheduleTimezone", "America/Argentina/Buenos_Aires", True),
        ("ScheduleTimezone", "Etc/GMT+5", True),
        ("ScheduleTimezone", "Europe/", False),
        ("ScheduleTimezone", "UTC offset", False),
        ("AlarmEmail", "", True),
        ("AlarmEmail", "ops@example.com", True),
        ("AlarmEmail", "ops@example", False),
        ("AlarmEmail", "ops example.com", False),
        ("LogRetentionDays", "30", True),
        ("LogRetentionDays", "31", False),
        ("DryRun", "true", True),
        ("DryRun", "yes", False),
        ("MaxDeletesPerRun", "0", False),
        ("StatusCacheSeconds", "0", False),
        ("CloudflareRateLimitPerMinute", "241", False),
    ],
)
def test_parameter_constraints(name: str, value: str, accepted: bool) -> None:
    assert parameter_accepts(name, value) is accepted


def test_parameter_defaults_pass_constraints() -> None:
    for name, parameter in PARAMETERS.items():
        if "Default" in parameter:
            assert parameter_accepts(name, str(parameter["Default"])), name


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("RetentionDays", 7),
        ("KeepLatest", 3),
        ("DeleteAliased", "false"),
        ("DryRun", "false"),
        ("SkipIfBuilding", "true"),
        ("StatusCacheSeconds", 30),
        ("MaxDeletesPerRun", 300),
        ("PruneConcurrency", 4),
        ("CloudflareRateLimitPerMinute", 120),
        ("CloudflareSecretArn", ""),
        ("TriggerBranch", ""),
        ("AlarmEmail", ""),
    ],
)
def test_parameter_default(name: str, default: object) -> None:
    assert PARAMETERS[name]["Default"] == default


def test_required_parameters_have_no_default() -> None:
    for name in ("PagesProjects", "CloudflareAccountId"):
        assert "Default" not in PARAMETERS[name], name


def test_parameters_all_used() -> None:
    text = Path(REPOSITORY_ROOT / "template.yaml").read_text(encoding="utf-8")
    body = text[text.index("\nConditions:") :]
    for name in PARAMETERS:
        assert re.search(rf"!Ref {name}\b|\${{{name}}}", body), f"parameter {name} is never referenced"
