"""The Bicep templates parse, hang together, and keep their security promises, with no Azure and no Bicep
compiler: pycep-parser reads every file. No key, connection string or SAS leaves a template, storage takes
Entra ID only, and every role assignment names the one resource it is for. (What only a real deployment
shows is listed in docs/deploy.md.)

The helpers here (`BICEP_FILES`, `parsed`, `resources`) are shared with the other test_infra_* modules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lark.exceptions import LarkError
from pycep import BicepParser

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
ROLE_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"

# Every built-in role the templates grant, by id (Azure's built-in role reference), and why.
GRANTED_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner (host storage)",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor (host storage)",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor (host storage, archive)",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor (archive, dead letters)",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher (Application Insights)",
    "09976791-48a7-449e-bb21-39d1a415f350": "Communication and Email Service Owner (the ACS resource)",
    "d5a91429-5739-47e2-a06b-3470a27159e7": "EventGrid Data Sender (the lifecycle events' topic)",
}
SECRET_NAME = re.compile(r"key|secret|password|connection_?string|sas|token", re.IGNORECASE)
LIST_FUNCTION = re.compile(r"\blist[A-Z]\w*\s*\(")


@cache
def _parser() -> BicepParser:
    return BicepParser(cache=False)  # building the grammar is the slow part: once per session


@cache
def parsed(path: Path) -> dict[str, Any]:
    """The pycep JSON of one template (raises on a file that is not valid Bicep)."""
    result: dict[str, Any] = _parser().parse(file_path=path)
    return result


def resources(path: Path) -> dict[str, dict[str, Any]]:
    return dict(parsed(path).get("resources") or {})


def body(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource's properties, also for a conditional one (`= if (...) {...}`), which pycep nests."""
    config: dict[str, Any] = resource["config"]
    return config["config"] if "condition" in config else config


def _relative(path: Path) -> str:
    return str(path.relative_to(REPO))


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _functions_called(node: Any) -> set[str]:
    return {item["function"]["type"] for item in _walk(node) if isinstance(item, dict) and "function" in item}


def test_the_entry_points_are_there() -> None:
    names = {_relative(path) for path in BICEP_FILES}
    assert {"infra/main.bicep", "infra/eventgrid-subscription.bicep"} <= names


@pytest.mark.parametrize("path", BICEP_FILES, ids=_relative)
def test_every_bicep_file_parses(path: Path) -> None:
    assert parsed(path).get("resources") or parsed(path).get("modules"), _relative(path)


def test_the_parser_refuses_a_malformed_template() -> None:
    with pytest.raises((LarkError, ValueError)):
        _parser().parse(text="resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n")


@pytest.mark.parametrize("path", BICEP_FILES, ids=_relative)
def test_every_module_a_template_names_exists(path: Path) -> None:
    for name, module in (parsed(path).get("modules") or {}).items():
        assert module["type"] == "local", f"{name}: registry modules need a network this validation lacks"
        assert (path.parent / module["detail"]["path"]).is_file(), f"{_relative(path)}: module {name}"


@pytest.mark.parametrize("path", BICEP_FILES, ids=_relative)
def test_every_module_gets_exactly_the_parameters_it_declares(path: Path) -> None:
    for name, module in (parsed(path).get("modules") or {}).items():
        declared = parsed(path.parent / module["detail"]["path"]).get("parameters") or {}
        required = {param for param, spec in declared.items() if "default" not in spec}
        given = set((module["config"].get("params") or {}).keys())
        assert given <= set(declared), f"{name}: unknown parameters {sorted(given - set(declared))}"
        assert required <= given, f"{name}: missing parameters {sorted(required - given)}"


def _role_assignments() -> Iterator[tuple[Path, str, dict[str, Any]]]:
    for path in BICEP_FILES:
        for name, resource in resources(path).items():
            if resource["type"] == ROLE_ASSIGNMENTS:
                yield path, name, resource


def test_every_role_assignment_is_scoped_to_one_resource_of_its_template() -> None:
    assignments = list(_role_assignments())
    assert assignments
    for path, name, resource in assignments:
        scope = body(resource).get("scope")
        declared = resources(path)
        assert isinstance(scope, str), f"{_relative(path)}: {name} has no resource scope"
        assert scope in declared, f"{_relative(path)}: {name} is scoped to {scope}, not a resource"
        assert "Microsoft.Resources" not in declared[scope]["type"], f"{name}: a group is not one resource"


def test_role_assignments_grant_only_the_documented_built_in_roles() -> None:
    granted = set()
    for path, name, resource in _role_assignments():
        properties = body(resource)["properties"]
        role = properties["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        granted.add(parsed(path)["variables"][role]["value"])
        assert properties["principalType"] == "ServicePrincipal", name
    assert granted == set(GRANTED_ROLES)


def test_the_apps_identity_may_read_and_move_aside_the_dead_letters() -> None:
    """The dead-letter replay lists, reads, writes (moves aside) and deletes blobs in the dead-letter
    container: a blob data role of the app's identity on that container or on the account holding it."""
    path = INFRA / "modules" / "host-storage.bicep"
    declared = resources(path)
    assert body(declared["deadLetterContainer"])["parent"] == "blobs"
    assert body(declared["blobs"])["parent"] == "account"
    roles = {
        parsed(path)["variables"][
            properties["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        ]["value"]
        for resource in declared.values()
        if resource["type"] == ROLE_ASSIGNMENTS
        and (properties := body(resource)["properties"])["principalId"] == "principalId"  # the app's identity
        and body(resource)["scope"] in {"account", "deadLetterContainer"}
    }
    blob_data_owner, blob_data_contributor = (
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    )
    assert roles & {blob_data_owner, blob_data_contributor}


@pytest.mark.parametrize("path", BICEP_FILES, ids=_relative)
def test_no_output_carries_a_key_connection_string_or_sas(path: Path) -> None:
    for name, output in (parsed(path).get("outputs") or {}).items():
        assert not SECRET_NAME.search(name), f"{_relative(path)}: output {name}"
        text = repr(output["value"])
        assert "ConnectionString" not in text, f"{_relative(path)}: output {name}"
        assert not any(called.startswith("list") for called in _functions_called(output)), name


@pytest.mark.parametrize("path", BICEP_FILES, ids=_relative)
def test_no_template_lists_keys_or_takes_a_secret(path: Path) -> None:
    text = path.read_text()
    assert not LIST_FUNCTION.search(text), f"{_relative(path)} calls a list*() function (keys, SAS)"
    assert "@secure()" not in text, f"{_relative(path)} takes a secret parameter"
    assert "AccountKey=" not in text


def _created(resource_type: str) -> list[dict[str, Any]]:
    return [
        body(resource)
        for path in BICEP_FILES
        for resource in resources(path).values()
        if resource["type"] == resource_type and not resource["existing"]
    ]


def test_every_storage_account_takes_entra_id_only() -> None:
    accounts = _created("Microsoft.Storage/storageAccounts")
    assert accounts
    for account in accounts:
        properties = account["properties"]
        assert properties["allowSharedKeyAccess"] is False
        assert properties["allowBlobPublicAccess"] is False
        assert properties["minimumTlsVersion"] == "TLS1_2"


def test_application_insights_and_log_analytics_refuse_keys() -> None:
    (component,) = _created("Microsoft.Insights/components")
    (workspace,) = _created("Microsoft.OperationalInsights/workspaces")
    assert component["properties"]["DisableLocalAuth"] is True
    assert workspace["properties"]["features"]["disableLocalAuth"] is True


def test_the_function_app_runs_python_on_flex_consumption_with_no_publishing_passwords() -> None:
    (plan,) = _created("Microsoft.Web/serverfarms")
    (site,) = _created("Microsoft.Web/sites")
    policies = _created("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert site["properties"]["functionAppConfig"]["runtime"]["name"] == "python"
    assert site["properties"]["httpsOnly"] is True
    assert sorted(policy["name"] for policy in policies) == ["ftp", "scm"]
    assert all(policy["properties"]["allow"] is False for policy in policies)


def test_the_python_versions_offered_are_the_ones_make_test_proves() -> None:
    # The default is the Python whose worker code the e2e, chaos and hostile suites run (3.13, with
    # azure-functions-runtime pinned in requirements.txt, which Azure honours from 3.13 on); 3.11 is
    # installed and imported by the unit and integration suites (docs/local-development.md, Python versions).
    version = parsed(INFRA / "main.bicep")["parameters"]["pythonVersion"]
    allowed = next(item for item in version["decorators"] if item["type"] == "allowed")["argument"]
    assert version["default"] == "3.13"
    assert sorted(allowed) == ["3.11", "3.13"]
