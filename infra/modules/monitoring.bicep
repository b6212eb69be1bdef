// Log Analytics + workspace-based Application Insights with local (key) auth off: telemetry is accepted only
// from an Entra token, so the identity gets Monitoring Metrics Publisher on this one component.
param workspaceName string
param componentName string
param location string
param tags object
param retentionDays int
param publisherPrincipalId string

// Monitoring Metrics Publisher: lets an identity send telemetry to Application Insights.
var metricsPublisherRole = '3913510d-42f4-4e42-8a64-420c390055eb'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource component 'Microsoft.Insights/components@2020-02-02' = {
  name: componentName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(component.id, publisherPrincipalId, metricsPublisherRole)
  scope: component
  properties: {
    principalId: publisherPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', metricsPublisherRole)
  }
}

output componentName string = component.name
output componentId string = component.id
output workspaceId string = workspace.id
