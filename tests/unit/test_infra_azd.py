"""azure.yaml is an azd project for this app, and its post-deploy hook agrees with the templates: the hook is
valid POSIX shell, passes eventgrid-subscription.bicep exactly the parameters it requires, and reads only
environment variables that main.bicep outputs (azd hands a hook the outputs as its environment)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.unit.test_infra_bicep import INFRA, REPO, parsed


def azure_yaml() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO / "azure.yaml").read_text())
    return document


def hook() -> Path:
    return REPO / azure_yaml()["hooks"]["postdeploy"]["posix"]["run"]


def test_azure_yaml_deploys_this_folder_as_a_python_function_app_from_infra_main() -> None:
    project = azure_yaml()
    assert project["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert project["services"] == {"recordings": {"project": ".", "language": "python", "host": "function"}}
    assert (INFRA / "main.bicep").is_file()


def test_the_function_app_carries_the_tag_azd_deploys_the_service_to() -> None:
    service = next(iter(azure_yaml()["services"]))
    function_app = parsed(INFRA / "modules" / "function-app.bicep")
    assert function_app["parameters"]["serviceName"]["default"] == service


def test_every_azd_parameter_is_a_parameter_of_main_bicep() -> None:
    parameters = yaml.safe_load((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(parameters) <= set(parsed(INFRA / "main.bicep")["parameters"])


def test_the_postdeploy_hook_is_an_executable_posix_shell_script() -> None:
    assert hook().is_file()
    assert hook().stat().st_mode & 0o111
    checked = subprocess.run(
        [shutil.which("sh") or "/bin/sh", "-n", str(hook())],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_the_hook_passes_the_subscription_template_exactly_the_parameters_it_requires() -> None:
    text = hook().read_text()
    assert "eventgrid-subscription.bicep" in text
    passed = set(re.findall(r"^[ \t]+(\w+)=\"\$", text, flags=re.MULTILINE))
    declared = parsed(INFRA / "eventgrid-subscription.bicep")["parameters"]
    required = {name for name, spec in declared.items() if "default" not in spec}
    assert required <= passed <= set(declared)


def test_the_hook_reads_only_outputs_of_main_bicep() -> None:
    text = hook().read_text()
    read = set(re.findall(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", text))  # environment-style names
    outputs = set(parsed(INFRA / "main.bicep")["outputs"])
    assert read
    assert read <= outputs, sorted(read - outputs)


def test_the_subscription_delivers_exactly_the_event_types_the_app_dispatches_to_its_event_function() -> None:
    from shared.archive.acs_events import HANDLED_EVENT_TYPES

    subscription = parsed(INFRA / "eventgrid-subscription.bicep")
    resource = subscription["resources"]["acsEvents"]["config"]["properties"]
    function_name = subscription["variables"]["functionName"]["value"]
    blueprint = (REPO / "blueprints" / "events.py").read_text()
    assert f'@bp.function_name("{function_name}")\n@bp.event_grid_trigger(' in blueprint
    assert sorted(resource["filter"]["includedEventTypes"]) == sorted(HANDLED_EVENT_TYPES)
    assert len(HANDLED_EVENT_TYPES) == 3
    assert resource["destination"]["endpointType"] == "AzureFunction"
    assert resource["deadLetterWithResourceIdentity"]["identity"] == {"type": "SystemAssigned"}
    assert set(resource["retryPolicy"]) == {"maxDeliveryAttempts", "eventTimeToLiveInMinutes"}
