// The Function App on Flex Consumption (Linux). Its app settings are every setting shared/settings.py reads
// that a deployment needs (tests/unit/test_infra_settings.py keeps the two equal), and none is a secret.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param applicationInsightsName string
param hostStorageName string
param deploymentContainerName string
param archiveStorageName string
param separateArchiveAccount bool
param archiveContainerName string
param catalogTableName string
param archiveDeleteSource bool
@description('Days after which the retention timer deletes archives: main.bicep passes the lifecycle rule\'s delete days, so the two agree.')
param archiveRetentionDays int
@description('Blob container (host storage) where Event Grid dead-letters undeliverable events; the app replays them.')
param deadLetterContainerName string
@description('Ask ACS\'s preview result API for the files of an Overdue recording (ARCHIVE_RECOVER_MISSING_EVENTS).')
param recoverMissingEvents bool = false
@description('The lifecycle events\' Event Grid topic endpoint (EVENT_GRID_TOPIC_ENDPOINT); the app sends with its identity.')
param eventTopicEndpoint string
param acsEndpoint string
param acsImmutableResourceId string
param pythonVersion string
param instanceMemoryMB int
param maximumInstanceCount int
param functionTimeout string

@description('azd finds the app to deploy the code to by this tag (services.recordings in azure.yaml).')
param serviceName string = 'recordings'

resource hostAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}

resource archiveAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: archiveStorageName
}

resource component 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// The host's storage by identity (no AzureWebJobsStorage connection string). The app reads these too, for
// the archive and the catalog when they share the host account.
var hostStorageSettings = {
  AzureWebJobsStorage__accountName: hostAccount.name
  AzureWebJobsStorage__blobServiceUri: hostAccount.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: hostAccount.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: hostAccount.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
}

// Application Insights accepts only Entra tokens here (DisableLocalAuth): the connection string names the
// component and its ingestion endpoint, and its instrumentation key authorizes nothing on its own.
var monitoringSettings = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: component.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

// What shared/settings.py reads.
var appSettings = {
  ACS_ENDPOINT: acsEndpoint
  ACS_RESOURCE_ID: acsImmutableResourceId
  AZURE_CLIENT_ID: identityClientId
  ARCHIVE_CONTAINER: archiveContainerName
  CATALOG_TABLE: catalogTableName
  ARCHIVE_DELETE_SOURCE: string(archiveDeleteSource)
  ARCHIVE_LINK_LIFETIME_SECONDS: '900'
  ARCHIVE_RETENTION_DAYS: string(archiveRetentionDays)
  ARCHIVE_RETENTION_DRY_RUN: 'false'
  // Nothing lost (docs/archive.md): retries until the deadline, and the watch over missing file events.
  ARCHIVE_RETRY_FIRST_SECONDS: '30'
  ARCHIVE_RETRY_MAX_SECONDS: '600'
  ARCHIVE_DEADLINE_MINUTES: '1440'
  ARCHIVE_LOST_AFTER_SECONDS: '1800'
  ARCHIVE_OVERDUE_AFTER_MINUTES: '30'
  ARCHIVE_RECOVER_MISSING_EVENTS: string(recoverMissingEvents)
  EVENT_GRID_DEAD_LETTER_CONTAINER: deadLetterContainerName
  // Lifecycle events (docs/operations.md, "Lifecycle events"): CloudEvents to this topic, by the identity.
  EVENT_GRID_TOPIC_ENDPOINT: eventTopicEndpoint
}

// Timer schedules (NCRONTAB, UTC), read by the Functions host from %SETTING% in the trigger.
var scheduleSettings = {
  ARCHIVE_WATCH_SCHEDULE: '0 */5 * * * *'
  DEAD_LETTER_REPLAY_SCHEDULE: '0 */10 * * * *'
  LIFECYCLE_EVENTS_SCHEDULE: '0 */1 * * * *'
}

// Only for a separate archive account; otherwise the app uses the host's AzureWebJobsStorage__* above.
var archiveAccountSettings = separateArchiveAccount ? {
  ARCHIVE_STORAGE_ACCOUNT_URL: archiveAccount.properties.primaryEndpoints.blob
} : {}

// host.json values, overridden for Flex: a chunk of a long recording may stream for many minutes.
var hostSettings = {
  AzureFunctionsJobHost__functionTimeout: functionTimeout
}

var allSettings = union(
  hostStorageSettings, monitoringSettings, appSettings, scheduleSettings, archiveAccountSettings, hostSettings
)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption zone redundancy is offered only in some regions; instances are spread by the platform and scale from zero.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: ACS posts state callbacks and Event Grid delivers events over the internet; every route needs a function key or the Event Grid system key.
  // checkov:skip=CKV_AZURE_17: neither ACS callbacks nor Event Grid deliveries present client certificates; callbacks carry an ACS-signed JWT instead.
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero on demand; always-ready instances would bill around the clock for a bursty archive workload.
  // checkov:skip=CKV_AZURE_213: no route to probe: every route needs a function key, and Flex Consumption replaces failed instances itself.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [for setting in items(allSettings): {
        name: setting.key
        value: setting.value
      }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostAccount.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// No publishing passwords: azd and `func` deploy with Entra ID to the deployment container.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'
