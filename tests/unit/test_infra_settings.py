"""The template and the code cannot drift: every setting shared/settings.py reads is set by the Function
App's app settings in infra/ or listed in docs/deploy.md as left unset on purpose, and every app setting the
template sets is one the code or the Functions host reads. The names come from the code itself (its syntax
tree), so a new setting added to the code fails here until the template or docs/deploy.md says what to do
with it.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from tests.unit.test_infra_bicep import INFRA, REPO, SECRET_NAME, parsed

SETTINGS_SOURCE = REPO / "shared" / "settings.py"
FUNCTION_APP = INFRA / "modules" / "function-app.bicep"
DEPLOY_PAGE = REPO / "docs" / "deploy.md"
UNSET_HEADING = "## Settings the template leaves unset"

# Set by the template for the Functions host, not read by our code: why each is there.
HOST_SETTINGS = {
    "AzureWebJobsStorage__queueServiceUri": "Durable's queues, by identity",
    "AzureWebJobsStorage__credential": "tells the host to use a managed identity",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "sends telemetry with the identity's Entra token",
    "AzureFunctionsJobHost__functionTimeout": "host.json's functionTimeout for Flex",
    "ARCHIVE_WATCH_SCHEDULE": "the archive watch timer's schedule (%ARCHIVE_WATCH_SCHEDULE% in its trigger)",
    "DEAD_LETTER_REPLAY_SCHEDULE": "the dead-letter replay timer's schedule (%DEAD_LETTER_REPLAY_SCHEDULE%)",
    "LIFECYCLE_EVENTS_SCHEDULE": "the lifecycle events' retry timer's schedule (%LIFECYCLE_EVENTS_SCHEDULE%)",
}
# The one app setting whose name says "connection string" and why it is not a secret here: it names the
# component, and its key alone authorizes nothing (local auth is off; the app sends with its identity).
NOT_A_SECRET = {"APPLICATIONINSIGHTS_CONNECTION_STRING"}


def settings_read_by(source: str) -> set[str]:
    """Names the code reads: `helper(env, NAME, ...)`, `env.get(NAME)` and `env[NAME]`, where NAME is a
    string literal or an f-string over module-level string constants (`f"{_HOST_STORAGE}clientId"`)."""
    tree = ast.parse(source)
    constants = {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }

    def literal(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            parts = []
            for part in node.values:
                if isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name):
                    parts.append(constants.get(part.value.id))
                else:
                    parts.append(literal(part))
            return None if None in parts else "".join(p for p in parts if p is not None)
        return None

    def is_env(node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id == "env"

    names: set[str | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and len(node.args) >= 2 and is_env(node.args[0]):
            names.add(literal(node.args[1]))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            if node.func.attr == "get" and is_env(node.func.value):
                names.add(literal(node.args[0]))
        elif isinstance(node, ast.Subscript) and is_env(node.value):
            names.add(literal(node.slice))
    return {name for name in names if name is not None}


def _object_keys(value: Any) -> set[str]:
    """Keys of a Bicep object literal, or of both branches of `cond ? {...} : {...}` (not of a call)."""
    if not isinstance(value, dict) or "function" in value:
        return set()
    if "operator" in value:
        operands = value["operator"]["operands"] if value["operator"]["type"] == "conditional" else {}
        return _object_keys(operands.get("true_value")) | _object_keys(operands.get("false_value"))
    return {key.strip("'") for key in value}


def template_app_settings() -> set[str]:
    """Every app setting function-app.bicep can set: the keys of its `*Settings` variables."""
    variables = parsed(FUNCTION_APP)["variables"]
    return set().union(
        *(_object_keys(spec["value"]) for name, spec in variables.items() if name.endswith("Settings"))
    )


def documented_unset() -> set[str]:
    """The settings docs/deploy.md's "Settings the template leaves unset" table names."""
    lines = DEPLOY_PAGE.read_text(encoding="utf-8").splitlines()
    start = lines.index(UNSET_HEADING)
    names = set()
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("| `"):
            names.add(re.findall(r"`([^`]+)`", line.split("|")[1])[0])
    return names


def uncovered(read: set[str]) -> set[str]:
    return read - template_app_settings() - documented_unset()


def code_reads() -> set[str]:
    return settings_read_by(SETTINGS_SOURCE.read_text())


def test_the_names_come_from_every_kind_of_read_in_settings_py() -> None:
    read = code_reads()
    assert "ACS_ENDPOINT" in read  # _optional(env, "...")
    assert "ARCHIVE_DELETE_SOURCE" in read  # _boolean(env, "...", default=...)
    assert "AzureWebJobsStorage__blobServiceUri" in read  # f"{_HOST_STORAGE}blobServiceUri"
    assert "AzureWebJobsStorage" in read


def test_a_setting_new_to_the_code_and_unknown_to_the_template_is_caught() -> None:
    source = SETTINGS_SOURCE.read_text() + '\n\ndef _new(env):\n    return env.get("RECORDING_REGION")\n'
    assert uncovered(settings_read_by(source)) == {"RECORDING_REGION"}


def test_every_setting_the_code_reads_is_set_by_the_template_or_documented_as_unset() -> None:
    assert uncovered(code_reads()) == set()


def test_the_readme_documents_as_unset_only_settings_the_code_reads_and_the_template_leaves_alone() -> None:
    unset = documented_unset()
    assert unset, "docs/deploy.md's table of unset settings is missing"
    assert unset <= code_reads()
    assert not unset & template_app_settings()


def test_every_app_setting_is_read_by_the_code_or_by_the_functions_host() -> None:
    assert template_app_settings() - code_reads() == set(HOST_SETTINGS)


def test_no_app_setting_is_a_key_connection_string_or_sas() -> None:
    secret_named = {name for name in template_app_settings() if SECRET_NAME.search(name)}
    assert secret_named == NOT_A_SECRET
    assert "ACS_CONNECTION_STRING" not in template_app_settings()
    assert "ARCHIVE_STORAGE_CONNECTION_STRING" not in template_app_settings()
    assert "AzureWebJobsStorage" not in template_app_settings()  # identity-based __* settings instead
