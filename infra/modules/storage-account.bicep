// A storage account reachable only with Entra ID: shared keys (and so SAS and connection strings) are off.
param name string
param location string
param tags object
@description('Redundancy: ZRS keeps the archive through the loss of one datacenter; GRS/GZRS also of a region.')
param skuName string = 'Standard_ZRS'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: Flex Consumption without VNet integration reaches storage over its public endpoint; access is Entra ID only (shared keys off).
  // checkov:skip=CKV_AZURE_59: as above: public endpoint, but no anonymous, key or SAS access is possible; VNet integration is the follow-up.
  // checkov:skip=CKV_AZURE_206: replicated by default (skuName: Standard_ZRS, main.bicep storageSku); checkov does not resolve a parameter's value.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

output name string = account.name
output id string = account.id
