"""The recording policy: which calls are recorded when they start, and how (pure, no I/O).

`{"rules": [{"name", "match": {...}, "record": {...}}]}`: the first rule whose `match` holds for the
call wins; no match means the call is not recorded; no rules (or no policy) means auto-recording is
off. Every `match` key is optional and every key given must hold:

- `callKind`: `group`, `room` or `twoParty`, or a list of them;
- `groupId`, `roomId`: a string or a list (a group id, a GUID, compares case-insensitively);
- `startedBy`: raw ids (a string or a list) of who may have started the call;
- `startedByPrefix`: raw id prefixes (a string or a list), e.g. `8:acs:<resource>_`.

`record` takes the options of `POST /api/recordings` without the call, checked by the same code
(shared.recording.options), so a policy is refused with the 400 a bad start gets, its `target` the
full path of the field (`rules[0].record.channel`). The policy is kept as written; a rule's options
are parsed again, by the same code, for the call each time it starts a recording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from shared.errors import ApiError, bad_request
from shared.recording.call_events import CALL_KINDS, CallEvent
from shared.recording.options import (
    CallLocator,
    checked_identifier,
    parse_record_options,
    without_query,
)

MAX_RULES: Final = 20
MAX_VALUES: Final = 20  # per match key
MAX_VALUE_LENGTH: Final = 256  # a raw id is ~80 characters, a group id 36
RULE_FIELDS: Final = frozenset({"name", "match", "record"})
MATCH_FIELDS: Final = ("callKind", "groupId", "roomId", "startedBy", "startedByPrefix")
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
# Stands in for the call while a rule's options are checked; never sent anywhere.
_ANY_CALL: Final = CallLocator(kind="serverCallId", id="policy-check")


@dataclass(frozen=True)
class CallMatch:
    """A rule's `match`: each non-empty tuple is a condition that must hold."""

    call_kinds: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    room_ids: tuple[str, ...] = ()
    started_by: tuple[str, ...] = ()
    started_by_prefixes: tuple[str, ...] = ()

    def mismatch(self, call: CallEvent) -> str | None:
        """The first condition that does not hold for `call` (its `match` key), or None if all hold."""
        started_by = call.started_by or ""
        checks = (
            ("callKind", self.call_kinds, call.kind in self.call_kinds),
            ("groupId", self.group_ids, (call.group_id or "").lower() in {g.lower() for g in self.group_ids}),
            ("roomId", self.room_ids, call.room_id in self.room_ids),
            ("startedBy", self.started_by, started_by in self.started_by),
            (
                "startedByPrefix",
                self.started_by_prefixes,
                bool(started_by) and started_by.startswith(self.started_by_prefixes),
            ),
        )
        return next((key for key, values, holds in checks if values and not holds), None)


@dataclass(frozen=True)
class PolicyRule:
    name: str
    match: CallMatch
    record: Mapping[str, Any]  # as written; valid (checked by parse_policy)


@dataclass(frozen=True)
class RecordingPolicy:
    rules: tuple[PolicyRule, ...] = ()
    document: Mapping[str, Any] | None = None  # the policy as written

    @property
    def enabled(self) -> bool:
        return bool(self.rules)

    def first_match(self, call: CallEvent) -> PolicyRule | None:
        return next((rule for rule in self.rules if rule.match.mismatch(call) is None), None)

    def why_not(self, call: CallEvent) -> str:
        """Why no rule matched, one line: each rule and the first `match` key that did not hold."""
        reasons = ", ".join(f"'{rule.name}' ({rule.match.mismatch(call)})" for rule in self.rules)
        return f"no rule matched this {call.kind} call: {reasons}"

    def to_json(self) -> dict[str, Any]:
        """The policy as the API shows it: as written, but a `stateCallbackUrl` without its query
        (it may carry a secret, as ours carries the function key), as recordings show theirs."""
        rules: list[dict[str, Any]] = []
        for rule in (self.document or {}).get("rules", []):
            record = dict(rule["record"])
            if isinstance(record.get("stateCallbackUrl"), str):
                record["stateCallbackUrl"] = without_query(record["stateCallbackUrl"])
            rules.append({**rule, "record": record})
        return {"rules": rules}


def parse_policy(body: object) -> RecordingPolicy:
    """Validate a policy document; raise ApiError (400) naming the first offending field in `target`."""
    if not isinstance(body, Mapping):
        raise bad_request("The policy must be a JSON object with 'rules'.")
    extra = sorted(str(key) for key in body if key != "rules")
    if extra:
        raise bad_request(f"Unknown field '{extra[0]}'.", extra[0], code="UnknownField")
    raw_rules = body.get("rules")
    if not isinstance(raw_rules, list):
        raise bad_request("'rules' must be an array (empty: auto-recording off).", "rules")
    if len(raw_rules) > MAX_RULES:
        raise bad_request(f"'rules' may hold at most {MAX_RULES} rules.", "rules")
    rules = tuple(_rule(item, f"rules[{index}]") for index, item in enumerate(raw_rules))
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        if rule.name.lower() in seen:
            raise bad_request("Two rules have this name; names must differ.", f"rules[{index}].name")
        seen.add(rule.name.lower())
    return RecordingPolicy(rules=rules, document={"rules": list(raw_rules)})


def _rule(item: object, where: str) -> PolicyRule:
    if not isinstance(item, Mapping):
        raise bad_request(f"'{where}' must be an object with name, match and record.", where)
    extra = sorted(str(key) for key in set(item) - RULE_FIELDS)
    if extra:
        raise bad_request(f"Unknown field '{where}.{extra[0]}'.", f"{where}.{extra[0]}", code="UnknownField")
    for key in sorted(RULE_FIELDS):
        if key not in item:
            raise bad_request(f"'{where}.{key}' is required.", f"{where}.{key}")
    name = item["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise bad_request(
            f"'{where}.name' must be 1 to 64 letters, digits, spaces, '.', '_' or '-', starting with a "
            "letter or digit.",
            f"{where}.name",
        )
    record = item["record"]
    if not isinstance(record, Mapping):
        raise bad_request(f"'{where}.record' must be an object of start options.", f"{where}.record")
    try:
        parse_record_options(record, _ANY_CALL)
    except ApiError as error:  # the same 400 a start gets, its target inside this rule
        target = f"{where}.record.{error.target}" if error.target else f"{where}.record"
        raise replace(error, target=target) from None
    return PolicyRule(name=name, match=_match(item["match"], f"{where}.match"), record=record)


def _match(value: object, where: str) -> CallMatch:
    if not isinstance(value, Mapping):
        raise bad_request(f"'{where}' must be an object ({{}}: every call).", where)
    extra = sorted(str(key) for key in set(value) - set(MATCH_FIELDS))
    if extra:
        raise bad_request(
            f"Unknown field '{where}.{extra[0]}'; a match takes {', '.join(MATCH_FIELDS)}.",
            f"{where}.{extra[0]}",
            code="UnknownField",
        )
    kinds = _values(value, "callKind", where)
    for index, kind in enumerate(kinds):
        if kind not in CALL_KINDS:
            target = f"{where}.callKind" + (f"[{index}]" if isinstance(value["callKind"], list) else "")
            raise bad_request(f"'{target}' must be one of: {', '.join(CALL_KINDS)}.", target)
    return CallMatch(
        call_kinds=kinds,
        group_ids=_values(value, "groupId", where),
        room_ids=_values(value, "roomId", where),
        started_by=_values(value, "startedBy", where),
        started_by_prefixes=_values(value, "startedByPrefix", where),
    )


def _values(match: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    """A match key's value: one string or a non-empty list of them; () when the key is absent."""
    if key not in match:
        return ()
    value, target = match[key], f"{where}.{key}"
    items: Sequence[object] = value if isinstance(value, list) else [value]
    if not items or len(items) > MAX_VALUES:
        raise bad_request(f"'{target}' must be a string or a list of 1 to {MAX_VALUES} strings.", target)
    many = isinstance(value, list)
    values: list[str] = []
    for index, item in enumerate(items):
        where = f"{target}[{index}]" if many else target
        if isinstance(item, str) and len(item) > MAX_VALUE_LENGTH:
            raise bad_request(f"'{where}' must be at most {MAX_VALUE_LENGTH} characters.", where)
        values.append(checked_identifier(item, where))
    return tuple(values)
