// What an operator gets (docs/operations.md, "Telemetry and alerts"): three alert rules on the app's telemetry, an action group that
// mails them (when an address is given), and a workbook. Every metric, attribute and event name queried here is
// one shared/telemetry.py or shared/events/catalogue.py emits (tests/unit/test_infra_monitoring.py).
param location string
param tags object
@description('Log Analytics workspace behind Application Insights: the alert queries read its App* tables.')
param workspaceId string
@description('Application Insights component the workbook belongs to.')
param componentId string
@description('Where alerts are mailed; empty: the action group has no receiver (alerts still show in the portal).')
param alertEmail string = ''
@description('Failed archive rounds (Retrying or Lost) in 15 minutes above which the failed-archives alert fires.')
@minValue(0)
param failedArchivesThreshold int = 0

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-recordings'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'recordings'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// A chunk gone at ACS, or unverified at the deadline: content may be lost for good. Every occurrence.
var lostQuery = '''
AppMetrics
| where Name == "recordings.archives" and tostring(Properties["outcome"]) == "Lost"
| summarize lost = sum(Sum)
'''

// A stopped recording whose file event has not come (the watch's count, every 5 minutes).
var overdueQuery = '''
AppMetrics
| where Name == "recordings.archives.attention" and tostring(Properties["status"]) == "Overdue"
| summarize overdue = max(Max)
'''

// Archive rounds that ended without every chunk verified.
var failedQuery = '''
AppMetrics
| where Name == "recordings.archives" and tostring(Properties["outcome"]) in ("Retrying", "Lost")
| summarize failed = sum(Sum)
'''

var rules = [
  {
    name: 'alert-recording-lost'
    displayName: 'A recording archive is Lost'
    description: 'An archive ended Lost: a chunk is gone at ACS or was still unverified at its deadline. See docs/operations.md, Telemetry and alerts.'
    severity: 1
    query: lostQuery
    measure: 'lost'
    threshold: 0
  }
  {
    name: 'alert-archive-overdue'
    displayName: 'A recording archive is Overdue'
    description: 'A stopped recording has had no RecordingFileStatusUpdated event for ARCHIVE_OVERDUE_AFTER_MINUTES; ACS deletes content after 24-48 hours. See docs/operations.md, Telemetry and alerts.'
    severity: 2
    query: overdueQuery
    measure: 'overdue'
    threshold: 0
  }
  {
    name: 'alert-archives-failing'
    displayName: 'Recording archives are failing'
    description: 'Archive rounds ended Retrying or Lost: ACS or storage refuses, or chunks are gone. See docs/operations.md, Telemetry and alerts.'
    severity: 2
    query: failedQuery
    measure: 'failed'
    threshold: failedArchivesThreshold
  }
]

resource alerts 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in rules: {
  name: rule.name
  location: location
  tags: tags
  properties: {
    displayName: rule.displayName
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: 'Total'
          metricMeasureColumn: rule.measure
          operator: 'GreaterThan'
          threshold: rule.threshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, componentId, 'recordings-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Call recordings: archives'
    category: 'workbook'
    sourceId: componentId
    serializedData: loadTextContent('workbook.json')
  }
}

output actionGroupId string = actionGroup.id
