// Connecting to a provider's FHIR API (SMART App Launch): discovery, a patient launch, the pull.
export * from './smartServer.ts';
export * from './smartLaunch.ts';
export * from './smartPull.ts';
