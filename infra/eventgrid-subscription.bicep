// The Event Grid subscription that feeds the app: RecordingFileStatusUpdated (archive the files), CallStarted
// (record the call if the recording policy says so) and CallEnded (its recordings await their files), from the
// ACS system topic to the Event Grid-triggered function, which dispatches them by type
// (shared/archive/acs_events.py; a test holds the two lists equal). Deployed into the ACS resource group after the code is deployed
// (infra/hooks/postdeploy.sh): an AzureFunction endpoint must name a function that is already indexed, and
// Event Grid fetches the extension's key itself, so no key passes through this template or its caller.
targetScope = 'resourceGroup'

@description('The system topic created by main.bicep (output EVENT_GRID_SYSTEM_TOPIC_NAME).')
param systemTopicName string

@description('The Function App (output AZURE_FUNCTION_APP_NAME).')
param functionAppName string

@description('Resource group of the Function App (output AZURE_RESOURCE_GROUP).')
param functionAppResourceGroup string

@description('Storage account that keeps undeliverable events (output EVENT_GRID_DEAD_LETTER_ACCOUNT_ID).')
param deadLetterAccountId string

@description('Its container (output EVENT_GRID_DEAD_LETTER_CONTAINER).')
param deadLetterContainerName string

@description('Delivery attempts before an event is dead-lettered (Event Grid allows 1-30).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes Event Grid keeps retrying an event (at most 1440, one day).')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

// The name the app registers for its Event Grid trigger (blueprints/events.py).
var functionName = 'on_acs_event'

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource app 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
  scope: resourceGroup(functionAppResourceGroup)
}

resource acsEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  // The name the first version gave it, kept: a redeploy updates that subscription in place instead of leaving
  // it behind, still aimed at a function that no longer exists.
  name: 'recording-file-status-updated'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      // CallStarted/CallEnded are published for ACS VoIP calls only (1:1, group, Rooms): not for PSTN, bots or
      // Teams interop calls (Azure docs, "Azure Communication Services - Voice and video calling events").
      includedEventTypes: [
        'Microsoft.Communication.RecordingFileStatusUpdated'
        'Microsoft.Communication.CallStarted'
        'Microsoft.Communication.CallEnded'
      ]
    }
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${app.id}/functions/${functionName}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output subscriptionName string = acsEvents.name
