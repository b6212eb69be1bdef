// A new Communication Services resource, for a subscription that has none yet. ACS resources are global;
// dataLocation says where call data (recordings included) rests.
param name string
param dataLocation string
param tags object

resource acs 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: name
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}
