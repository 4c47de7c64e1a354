/** Every table of record, by name: drizzle-kit generates migrations from this list and the server's drizzle uses it. */
export { activityLogs, apiUsage, systemEventLevel, systemEvents } from './system.ts';
export {
  aiInsights,
  copingToolsUsage,
  screenerResults,
  insightKind,
  moodEntries,
  therapyKind,
  therapyMode,
  therapySessions,
} from './wellbeing.ts';
export {
  alertChannel,
  alertLogs,
  alertMessageKind,
  alertResponse,
  alertStatus,
  emergencyContacts,
  emergencyIncidents,
  incidentStatus,
  incidentTrigger,
  sensorReadings,
} from './safety.ts';
export {
  subscriptionData,
  subscriptionPlan,
  subscriptionStatus,
  syncTokens,
  userSessions,
  userSettings,
  users,
} from './identity.ts';
export { alertLinks, inboundSms, pushSubscriptions, sosTestMessages } from './alerts.ts';
export { mediaBucket, mediaFiles, uploadState } from './media.ts';
export {
  contactMerges,
  fieldClocks,
  incidentEvents,
  moodRevisions,
  mutationErrors,
  syncClients,
  userVersions,
} from './sync.ts';
export { authenticatedRole } from './rls.ts';
export { accountDeletions, goneAlertLinks } from './data-rights.ts';
