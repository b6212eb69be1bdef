// Deployed into the ACS resource's own resource group: the Function App identity's role on that one ACS
// resource, and the Event Grid system topic that publishes its recording events.
param acsName string
param systemTopicName string
@description('The Function App\'s user-assigned identity.')
param principalId string
param tags object

// Communication and Email Service Owner: the built-in role ACS checks for Entra ID (managed identity) calls
// to Call Automation (start/pause/resume/stop recording) and to recording content download and delete.
// ACS offers no narrower built-in data role and does not honour custom roles, so this is scoped to the one
// ACS resource. It also permits managing that resource; the app never uses that.
var acsRole = '09976791-48a7-449e-bb21-39d1a415f350'

resource acs 'Microsoft.Communication/communicationServices@2023-04-01' existing = {
  name: acsName
}

resource acsAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(acs.id, principalId, acsRole)
  scope: acs
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acsRole)
  }
}

// The topic's own identity writes undeliverable events to the dead-letter container (host storage grants it).
resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: acs.id
    topicType: 'Microsoft.Communication.CommunicationServices'
  }
}

output endpoint string = 'https://${acs.properties.hostName}'
output immutableResourceId string = acs.properties.immutableResourceId
output systemTopicPrincipalId string = topic.identity.principalId
