"""A local Event Grid custom topic (CloudEvents input schema, Microsoft Entra auth only) for the
lifecycle events: `make run` publishes to it, tests subscribe to it. See topic.py."""

from devtools.event_grid.topic import LocalTopic, PublishAttempt

__all__ = ["LocalTopic", "PublishAttempt"]
