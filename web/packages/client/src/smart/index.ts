// Connecting to a provider's FHIR API (SMART App Launch): discovery, a patient launch, the pull,
// and the connection kept (sealed) for the next sync.
export * from './smartServer.ts';
export * from './smartLaunch.ts';
export * from './smartPull.ts';
export * from './smartTokens.ts';
export * from './connection.ts';
