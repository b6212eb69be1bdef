// The archive container, the catalog table and the lifecycle rule that cools, then deletes, old archives.
// Blob names start with the recording's UTC date (yyyy/mm/dd/...), so "days since creation" tracks it.
param accountName string
param containerName string
param tableName string
@description('0 turns the tier move off.')
param coolAfterDays int
@description('0 turns the tier move off.')
param coldAfterDays int
@description('0 keeps archives forever.')
param deleteAfterDays int
@description('The Function App\'s user-assigned identity.')
param principalId string
@description('True when this is its own account; on the host account the host roles already cover it.')
param grantAccountRoles bool

// Storage Blob Data Contributor: write, read and verify archived chunks and manifests.
var blobDataContributorRole = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
// Storage Table Data Contributor: the catalog.
var tableDataContributorRole = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

var tierToCool = coolAfterDays > 0 ? {
  tierToCool: {
    daysAfterCreationGreaterThan: coolAfterDays
  }
} : {}
var tierToCold = coldAfterDays > 0 ? {
  tierToCold: {
    daysAfterCreationGreaterThan: coldAfterDays
  }
} : {}
var deleteOld = deleteAfterDays > 0 ? {
  delete: {
    daysAfterCreationGreaterThan: deleteAfterDays
  }
} : {}
var baseBlobActions = union(tierToCool, tierToCold, deleteOld)
var hasLifecycle = coolAfterDays > 0 || coldAfterDays > 0 || deleteAfterDays > 0

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: accountName
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource catalog 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tables
  name: tableName
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = if (hasLifecycle) {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'archive-age-out'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${containerName}/'
              ]
            }
            actions: {
              baseBlob: baseBlobActions
            }
          }
        }
      ]
    }
  }
}

resource archiveBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantAccountRoles) {
  name: guid(account.id, principalId, blobDataContributorRole)
  scope: account
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributorRole)
  }
}

resource archiveTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantAccountRoles) {
  name: guid(account.id, principalId, tableDataContributorRole)
  scope: account
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRole)
  }
}
