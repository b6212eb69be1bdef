// The Event Grid subscription that starts the archive: RecordingFileStatusUpdated from the ACS system topic to
// the Event Grid-triggered function. Deployed into the ACS resource group after the code is deployed
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

// The name the app registers for its Event Grid trigger (blueprints/archive.py).
var functionName = 'on_recording_file_status_updated'

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource app 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
  scope: resourceGroup(functionAppResourceGroup)
}

resource recordingFiles 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'recording-file-status-updated'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Communication.RecordingFileStatusUpdated'
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

output subscriptionName string = recordingFiles.name
