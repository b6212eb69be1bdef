"""The Event Grid trigger: every event the subscription delivers, dispatched by its type
(shared.archive.acs_events): recording files to archive, calls that start and end."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from shared.archive.acs_events import dispatch_event
from shared.archive.intake import delivered_event
from shared.settings import current_settings

bp = df.Blueprint()


# The name infra/eventgrid-subscription.bicep subscribes (an AzureFunction endpoint names it).
@bp.function_name("on_acs_event")
@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def on_acs_event(
    event: func.EventGridEvent,  # or a CloudEvent: see shared.archive.intake.delivered_event
    client: df.DurableOrchestrationClient,
) -> None:
    await dispatch_event(current_settings(), client, delivered_event(event))
