// The one identity the Function App uses for everything: host storage, archive, ACS, Application Insights.
// User-assigned, so its role assignments exist before the app first starts (no race with a system identity).
param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
