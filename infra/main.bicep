// The call-recording service on Azure Functions Flex Consumption: one user-assigned identity, identity-only
// storage, Application Insights by identity, and an Event Grid system topic on the ACS resource.
//
// Deployed by `azd up` (azure.yaml) or by `az deployment group create -f infra/main.bicep`. The Event Grid
// subscription that feeds the archive is infra/eventgrid-subscription.bicep, applied after the code is
// deployed (infra/hooks/postdeploy.sh): an AzureFunction endpoint must name a function that already exists.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('Name of the environment (azd sets it); seeds resource names and the azd-env-name tag.')
param environmentName string

@description('Region of the Function App, storage and monitoring. Flex Consumption must be offered there.')
param location string = resourceGroup().location

@description('Name of an existing Communication Services resource (the common case). Empty: a new one is created.')
param acsResourceName string = ''

@description('Resource group of the Communication Services resource. Empty: this deployment\'s resource group.')
param acsResourceGroupName string = ''

@description('Data location of a new Communication Services resource (ignored for an existing one).')
param newAcsDataLocation string = 'United States'

@description('''Name of the Event Grid system topic on the ACS resource. A resource has at most one system
topic: if yours already has one, give its name here so it is adopted instead of refused.''')
param systemTopicName string = ''

@description('''Python of the Function App. 3.13: the Python worker the e2e, chaos and hostile suites run
(azure-functions-runtime, pinned in requirements.txt); 3.11 stays installable (its install and import are tested).''')
@allowed([
  '3.11'
  '3.13'
])
param pythonVersion string = '3.13'

@description('Memory of each Flex Consumption instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound on Flex Consumption scale-out (the platform minimum is 40).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Longest one function execution may run (host.json functionTimeout; Flex allows unbounded).')
param functionTimeout string = '01:00:00'

@description('Storage redundancy of both accounts (the archive is the lasting copy of every recording).')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_ZRS'

@description('Keep archives and the catalog in their own storage account instead of the host\'s.')
param separateArchiveAccount bool = false

@description('Blob container of the archive (ARCHIVE_CONTAINER).')
@minLength(3)
@maxLength(63)
param archiveContainerName string = 'recordings'

@description('Table of the catalog (CATALOG_TABLE).')
@minLength(3)
@maxLength(63)
param catalogTableName string = 'recordings'

@description('Delete the ACS copy of each chunk once its archive is verified (ARCHIVE_DELETE_SOURCE).')
param archiveDeleteSource bool = false

@description('Ask ACS\'s preview result API (api-version 2025-08-15-preview) for the files of an Overdue recording whose file event never came (ARCHIVE_RECOVER_MISSING_EVENTS).')
param recoverMissingEvents bool = false

@description('Days after creation when archived blobs move to the cool tier (0: never).')
@minValue(0)
param archiveCoolAfterDays int = 30

@description('Days after creation when archived blobs move to the cold tier (0: never).')
@minValue(0)
param archiveColdAfterDays int = 90

@description('Days after creation when archived blobs are deleted (0: never).')
@minValue(0)
param archiveDeleteAfterDays int = 365

@description('E-mail address the alert rules notify (a lost recording, an overdue archive, failing archives); empty: none.')
param alertEmail string = ''

@description('Failed archive rounds (Retrying or Lost) in 15 minutes above which the failed-archives alert fires.')
@minValue(0)
param failedArchivesThreshold int = 0

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
}
var acsGroup = empty(acsResourceGroupName) ? resourceGroup().name : acsResourceGroupName
var createAcs = empty(acsResourceName)
var acsName = createAcs ? 'acs-${resourceToken}' : acsResourceName
var topicName = empty(systemTopicName) ? 'evgt-recordings-${resourceToken}' : systemTopicName
var functionAppName = 'func-recordings-${resourceToken}'
var hostStorageName = 'sthost${resourceToken}'
var archiveStorageName = separateArchiveAccount ? 'starch${resourceToken}' : hostStorageName
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'eventgrid-deadletter'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-recordings-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: 'log-recordings-${resourceToken}'
    componentName: 'appi-recordings-${resourceToken}'
    location: location
    tags: tags
    retentionDays: logRetentionDays
    publisherPrincipalId: identity.outputs.principalId
  }
}

// The lifecycle events' topic (docs/operations.md, "Lifecycle events"): Entra only, the app's identity may send to it.
module lifecycleTopic 'modules/lifecycle-topic.bicep' = {
  name: 'lifecycle-topic'
  params: {
    name: 'evgt-recording-events-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

// Alert rules, their action group and the workbook (docs/operations.md, "Telemetry and alerts").
module operations 'modules/operations.bicep' = {
  name: 'operations'
  params: {
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    componentId: monitoring.outputs.componentId
    alertEmail: alertEmail
    failedArchivesThreshold: failedArchivesThreshold
  }
}

module hostAccount 'modules/storage-account.bicep' = {
  name: 'host-storage-account'
  params: {
    name: hostStorageName
    location: location
    tags: tags
    skuName: storageSku
  }
}

module archiveAccount 'modules/storage-account.bicep' = if (separateArchiveAccount) {
  name: 'archive-storage-account'
  params: {
    name: archiveStorageName
    location: location
    tags: tags
    skuName: storageSku
  }
}

module newAcs 'modules/acs-new.bicep' = if (createAcs) {
  name: 'acs-new'
  scope: resourceGroup(acsGroup)
  params: {
    name: acsName
    dataLocation: newAcsDataLocation
    tags: tags
  }
}

module acs 'modules/acs-access.bicep' = {
  name: 'acs-access'
  scope: resourceGroup(acsGroup)
  dependsOn: [
    newAcs
  ]
  params: {
    acsName: acsName
    systemTopicName: topicName
    principalId: identity.outputs.principalId
    tags: tags
  }
}

module hostStorage 'modules/host-storage.bicep' = {
  name: 'host-storage'
  params: {
    accountName: hostAccount.outputs.name
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    principalId: identity.outputs.principalId
    eventGridPrincipalId: acs.outputs.systemTopicPrincipalId
  }
}

module archive 'modules/archive-storage.bicep' = {
  name: 'archive-storage'
  dependsOn: [
    hostAccount
    archiveAccount
  ]
  params: {
    accountName: archiveStorageName
    containerName: archiveContainerName
    tableName: catalogTableName
    coolAfterDays: archiveCoolAfterDays
    coldAfterDays: archiveColdAfterDays
    deleteAfterDays: archiveDeleteAfterDays
    principalId: identity.outputs.principalId
    grantAccountRoles: separateArchiveAccount
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  dependsOn: [
    hostStorage
    archive
  ]
  params: {
    name: functionAppName
    planName: 'plan-recordings-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    applicationInsightsName: monitoring.outputs.componentName
    hostStorageName: hostAccount.outputs.name
    deploymentContainerName: deploymentContainerName
    archiveStorageName: archiveStorageName
    separateArchiveAccount: separateArchiveAccount
    archiveContainerName: archiveContainerName
    catalogTableName: catalogTableName
    archiveDeleteSource: archiveDeleteSource
    recoverMissingEvents: recoverMissingEvents
    archiveRetentionDays: archiveDeleteAfterDays // the lifecycle rule's delete days: one source for both
    deadLetterContainerName: deadLetterContainerName
    eventTopicEndpoint: lifecycleTopic.outputs.endpoint
    acsEndpoint: acs.outputs.endpoint
    acsImmutableResourceId: acs.outputs.immutableResourceId
    pythonVersion: pythonVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    functionTimeout: functionTimeout
  }
}

// Names and endpoints only: no key, connection string or SAS leaves this template.
output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.url
output APP_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output APP_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output ACS_RESOURCE_NAME string = acsName
output ACS_RESOURCE_GROUP string = acsGroup
output ACS_ENDPOINT string = acs.outputs.endpoint
output EVENT_GRID_SYSTEM_TOPIC_NAME string = topicName
output ARCHIVE_STORAGE_ACCOUNT_NAME string = archiveStorageName
output ARCHIVE_CONTAINER string = archiveContainerName
output EVENT_GRID_DEAD_LETTER_ACCOUNT_ID string = hostAccount.outputs.id
output EVENT_GRID_DEAD_LETTER_CONTAINER string = deadLetterContainerName
output EVENT_GRID_TOPIC_ENDPOINT string = lifecycleTopic.outputs.endpoint
output LIFECYCLE_TOPIC_NAME string = lifecycleTopic.outputs.name
