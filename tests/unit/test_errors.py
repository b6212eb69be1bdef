"""One mapping from azure-core / ACS errors to our HTTP answers."""

from __future__ import annotations

import json

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseTimeoutError,
)
from azure.core.rest import HttpRequest

from shared.errors import STORAGE, ApiError, QueryError, SettingsError, api_error_for, from_azure_error


class FakeResponse:
    """The minimal azure-core response surface HttpResponseError reads (not an SDK client mock)."""

    def __init__(self, status: int, body: object = None, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.reason = "reason"
        self.headers = headers or {}
        self.request = HttpRequest("GET", "https://x.example")
        self._body = json.dumps(body) if body is not None else ""
        self.content_type = "application/json"

    def text(self, encoding: str | None = None) -> str:
        return self._body

    def body(self) -> bytes:
        return self._body.encode()


def http_error(
    status: int,
    body: object = None,
    headers: dict[str, str] | None = None,
    kind: type[HttpResponseError] = HttpResponseError,
) -> HttpResponseError:
    return kind(response=FakeResponse(status, body, headers))  # type: ignore[arg-type]


NOT_FOUND = {"error": {"code": "8522", "message": "Recording not found."}}


def test_acs_404_becomes_404_recording_not_found() -> None:
    error = from_azure_error(http_error(404, NOT_FOUND, kind=ResourceNotFoundError))
    assert (error.status, error.code, error.message) == (404, "RecordingNotFound", "Recording not found.")


def test_acs_400_keeps_the_service_message() -> None:
    body = {"error": {"code": "8523", "message": "Invalid request."}}
    error = from_azure_error(http_error(400, body))
    assert (error.status, error.message) == (400, "Invalid request.")


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_become_502(status: int) -> None:
    error = from_azure_error(http_error(status, {"error": {"code": "Denied", "message": "Denied"}}))
    assert (error.status, error.code) == (502, "UpstreamAuthenticationFailed")


def test_client_authentication_error_becomes_502() -> None:
    assert from_azure_error(ClientAuthenticationError("no")).status == 502


def test_throttling_becomes_503_with_the_services_retry_after() -> None:
    error = from_azure_error(http_error(429, None, {"Retry-After": "17"}))
    assert (error.status, error.headers["Retry-After"]) == (503, "17")


def test_throttling_without_retry_after_still_says_when_to_retry() -> None:
    assert from_azure_error(http_error(429)).headers["Retry-After"] == "5"


def test_timeout_becomes_504() -> None:
    assert from_azure_error(ServiceResponseTimeoutError("slow")).status == 504


def test_unreachable_service_becomes_502() -> None:
    assert from_azure_error(ServiceRequestError("refused")).status == 502


def test_service_500_becomes_502_with_its_code() -> None:
    error = from_azure_error(
        http_error(500, {"error": {"code": "9999", "message": "Unknown internal server error."}})
    )
    assert (error.status, error.code) == (502, "UpstreamError")
    assert "9999" in error.message


def test_storage_errors_name_storage_not_acs() -> None:
    error = from_azure_error(http_error(404), service=STORAGE)
    assert error.status == 502
    assert "Azure Storage" in error.message


def test_error_body_has_code_message_and_target() -> None:
    error = from_azure_error(http_error(400, {"error": {"code": "x", "message": "m"}}))
    assert error.body() == {"error": {"code": "RejectedByService", "message": "m"}}


def test_an_api_error_is_answered_as_it_is() -> None:
    error = ApiError(409, "Conflict", "busy")
    assert api_error_for(error) is error


def test_a_malformed_query_is_a_400_naming_the_parameter() -> None:
    answer = api_error_for(QueryError("from", "not a time"))
    assert (answer.status, answer.target, answer.message) == (400, "from", "not a time")


def test_a_settings_error_is_a_500_configuration_error_naming_the_setting_only() -> None:
    answer = api_error_for(SettingsError("ACS_CONNECTION_STRING", "is malformed"))
    assert (answer.status, answer.code) == (500, "ConfigurationError")
    assert "ACS_CONNECTION_STRING" in answer.message


def test_an_sdk_error_that_escaped_its_upstream_block_names_no_particular_service() -> None:
    answer = api_error_for(ServiceRequestError("connection refused to secret-host"))
    assert (answer.status, answer.code) == (502, "UpstreamUnavailable")
    assert answer.message == "An Azure service could not be reached."
    assert "secret-host" not in answer.message


def test_any_other_exception_is_a_500_without_its_text() -> None:
    answer = api_error_for(KeyError("password=hunter2"))
    assert (answer.status, answer.code) == (500, "InternalError")
    assert "hunter2" not in answer.message
