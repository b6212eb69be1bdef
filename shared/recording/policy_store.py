"""The recording policy, kept durably in the catalog table and versioned by its ETag.

One entity (`policy` / `recording-policy`) holds the policy as written. Table storage versions it:
every write answers a new ETag, and a write made `If-Match` an ETag is refused by the service (412)
if anyone wrote in between, so two editors cannot silently overwrite each other (a lost update is
a 412 `PolicyChanged`). `If-None-Match: *` creates the policy only if there is none.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Final

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

from shared.clients import table_client
from shared.errors import STORAGE, ApiError, bad_request, upstream
from shared.recording.policy import RecordingPolicy, parse_policy
from shared.settings import Settings

_PARTITION: Final = "policy"
_ROW: Final = "recording-policy"
# An entity tag as HTTP writes one (RFC 9110 8.8.3): optionally weak, quoted, printable ASCII.
# Table storage holds a string property of at most 64 KiB as UTF-16: 32 Ki characters of the policy's
# ASCII-only JSON (json.dumps escapes the rest). A policy within its own limits can be longer.
MAX_STORED_CHARACTERS: Final = 32 * 1024
_ENTITY_TAG: Final = re.compile(r'^(W/)?"[\x21\x23-\x7e]{0,256}"$')


@dataclass(frozen=True)
class StoredPolicy:
    policy: RecordingPolicy
    etag: str | None  # None: no policy was ever written (auto-recording off)
    updated_at: str | None = None


@dataclass(frozen=True)
class Precondition:
    """A PUT's `If-Match` (an ETag, or `*`: a policy exists) or `If-None-Match: *` (none exists)."""

    if_match: str | None = None
    if_none_match: bool = False


def precondition(if_match: str | None, if_none_match: str | None) -> Precondition:
    """Read the two headers; a malformed one is a 400 naming it."""
    if if_none_match is not None and if_none_match.strip() != "*":
        raise bad_request(
            "Only 'If-None-Match: *' (create the policy if there is none) is taken.", "If-None-Match"
        )
    if if_match is not None:
        tag = if_match.strip()
        if tag != "*" and not _ENTITY_TAG.fullmatch(tag):
            raise bad_request("'If-Match' must be '*' or one ETag as GET answered it.", "If-Match")
        if if_none_match is not None:
            raise bad_request("Give If-Match or If-None-Match, not both.", "If-None-Match")
        return Precondition(if_match=tag)
    return Precondition(if_none_match=if_none_match is not None)


def read_policy(settings: Settings) -> StoredPolicy:
    """The stored policy; an empty one (auto-recording off) when none was ever written."""
    table = table_client(settings.storage, settings.catalog_table)
    with upstream(STORAGE):
        try:
            entity = table.get_entity(_PARTITION, _ROW)
        except ResourceNotFoundError:
            return StoredPolicy(RecordingPolicy(), None)
    policy = parse_policy(json.loads(str(entity["policy"])))  # written valid; checked again on reading
    return StoredPolicy(policy, str(entity.metadata["etag"]), entity.get("updatedAt"))


def write_policy(
    settings: Settings, policy: RecordingPolicy, condition: Precondition, at: datetime
) -> StoredPolicy:
    """Store `policy` if `condition` holds (412 `PolicyChanged` when it does not); answers the new ETag."""
    from azure.data.tables import UpdateMode

    document = json.dumps(policy.document or {"rules": []}, separators=(",", ":"))
    if len(document) > MAX_STORED_CHARACTERS:
        raise bad_request(
            f"The policy is {len(document)} characters as compact JSON; at most {MAX_STORED_CHARACTERS} "
            "can be stored: use fewer or shorter values.",
            "rules",
        )
    table = table_client(settings.storage, settings.catalog_table)
    entity = {"PartitionKey": _PARTITION, "RowKey": _ROW, "policy": document, "updatedAt": at.isoformat()}
    with upstream(STORAGE):
        try:
            if condition.if_none_match:
                written = table.create_entity(entity)
            elif condition.if_match is None:
                written = table.upsert_entity(entity, mode=UpdateMode.REPLACE)
            elif condition.if_match == "*":
                written = table.update_entity(
                    entity, mode=UpdateMode.REPLACE, match_condition=MatchConditions.Unconditionally
                )
            else:
                written = table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=condition.if_match,
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
            raise _changed(condition) from None
        except HttpResponseError as error:
            # A tag not of the form storage issues (a strong `"..."`, or the weak one without `W/`) is
            # refused by it as malformed (Azurite: 400 InvalidInput): such a tag was never the policy's,
            # so it cannot match. UNVERIFIED that Azure Table answers so too; a 412 is the branch above.
            if getattr(error, "error_code", None) == "InvalidInput" and condition.if_match not in (None, "*"):
                raise _changed(condition) from None
            raise
    return StoredPolicy(policy, str(written["etag"]), entity["updatedAt"])


def _changed(condition: Precondition) -> ApiError:
    if condition.if_none_match:
        message = "A policy exists already (If-None-Match: *); GET it and send its ETag as If-Match."
    elif condition.if_match == "*":
        message = "There is no policy to replace (If-Match: *); send If-None-Match: * to create one."
    else:
        message = "The policy changed since this ETag was read; GET it again and apply your change to it."
    header = "If-None-Match" if condition.if_none_match else "If-Match"
    return ApiError(HTTPStatus.PRECONDITION_FAILED, "PolicyChanged", message, header)
