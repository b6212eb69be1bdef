// The Event Grid custom topic the app publishes its lifecycle events to (docs/operations.md, "Lifecycle events"): CloudEvents
// 1.0 in, Microsoft Entra only (local auth off: no topic key exists to leak), and the app's identity allowed
// to send to this one topic and nothing else.
param name string
param location string
param tags object
@description('The Function App\'s user-assigned identity (the publisher).')
param principalId string

// EventGrid Data Sender: Microsoft.EventGrid/events/send/action, nothing more (docs: "Authenticate Event Grid
// publishing clients using Microsoft Entra ID").
var dataSenderRole = 'd5a91429-5739-47e2-a06b-3470a27159e7'

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  // checkov:skip=CKV_AZURE_193: consumers subscribe with webhooks and Azure Functions over the internet; publishing needs an Entra token with EventGrid Data Sender, and local auth is off.
  name: name
  location: location
  tags: tags
  // Lets subscriptions deliver and dead-letter with the topic's own identity instead of keys.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    minimumTlsVersionAllowed: '1.2'
  }
}

resource sender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, principalId, dataSenderRole)
  scope: topic
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataSenderRole)
  }
}

output name string = topic.name
output endpoint string = topic.properties.endpoint
