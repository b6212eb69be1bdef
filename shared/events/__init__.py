"""Lifecycle events: what the service tells other systems, as CloudEvents 1.0 on an Event Grid topic.

- `catalogue`: the event types, `source`, `subject`, id and sequence (pure): one owner of the names.
- `outbox`: the rows that hold an event in its recording's catalog partition until it is published,
  written in the same transaction as the change it reports (pure row shapes, one table's I/O).
- `publisher`: drains the outbox to the topic with the SDK and the app's identity, right after a
  write (a background thread, never on the caller's path) and from a timer for what is left.

The recording wing (recording started) and the archive wing (stopped, archived, retrying, overdue,
lost, source deleted, expired) say what happened; this package knows no status, only events.
"""
