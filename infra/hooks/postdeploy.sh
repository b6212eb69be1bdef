#!/bin/sh
# azd postdeploy hook: subscribe the app's Event Grid function to the ACS resource's RecordingFileStatusUpdated,
# CallStarted and CallEnded events (infra/eventgrid-subscription.bicep). It runs after the code is deployed because an Event Grid
# AzureFunction endpoint must name a function the host has indexed; Event Grid fetches the extension key
# itself, so no key is read or printed here. azd passes main.bicep's outputs as environment variables.
set -eu

for name in ACS_RESOURCE_GROUP AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME EVENT_GRID_SYSTEM_TOPIC_NAME \
    EVENT_GRID_DEAD_LETTER_ACCOUNT_ID EVENT_GRID_DEAD_LETTER_CONTAINER; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then
    echo "error: $name is not set; run 'azd provision' first (it is an output of infra/main.bicep)" >&2
    exit 1
  fi
done
if ! command -v az >/dev/null 2>&1; then
  echo "error: the Event Grid subscription needs the Azure CLI ('az', signed in with 'az login')" >&2
  exit 1
fi

template="$(dirname "$0")/../eventgrid-subscription.bicep"
attempts=6
attempt=1
while :; do
  if az deployment group create \
      --name recording-file-events \
      --resource-group "$ACS_RESOURCE_GROUP" \
      --template-file "$template" \
      --parameters \
        systemTopicName="$EVENT_GRID_SYSTEM_TOPIC_NAME" \
        functionAppName="$AZURE_FUNCTION_APP_NAME" \
        functionAppResourceGroup="$AZURE_RESOURCE_GROUP" \
        deadLetterAccountId="$EVENT_GRID_DEAD_LETTER_ACCOUNT_ID" \
        deadLetterContainerName="$EVENT_GRID_DEAD_LETTER_CONTAINER" \
      --output none; then
    echo "Event Grid: RecordingFileStatusUpdated, CallStarted and CallEnded from $EVENT_GRID_SYSTEM_TOPIC_NAME now reach on_acs_event"
    exit 0
  fi
  if [ "$attempt" -ge "$attempts" ]; then
    echo "error: the Event Grid subscription was refused $attempts times; see the deployment 'recording-file-events' in $ACS_RESOURCE_GROUP" >&2
    exit 1
  fi
  # A freshly deployed Flex app may not have indexed its functions yet; Event Grid then refuses the endpoint.
  echo "Event Grid subscription not accepted yet (attempt $attempt of $attempts); retrying in 30 s"
  attempt=$((attempt + 1))
  sleep 30
done
