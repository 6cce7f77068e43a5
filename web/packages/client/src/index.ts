// @medkey/client: everything a browser app needs to act for a patient or a provider through a
// wallet that only signs. See README.md in this package for a tour.

export * from './errors.ts';
export * from './consent.ts';
export * from './envelope/binding.ts';
export * from './envelope/record.ts';
export * from './envelope/wrap.ts';
export * from './envelope/stream.ts';
export * from './envelope/origin.ts';
export * from './wallet.ts';
export * from './walletKey.ts';
export * from './accountSecret.ts';
export * from './accountSecretWrap.ts';
export * from './session.ts';
export * from './api/client.ts';
export * from './chain/registry.ts';
export * from './grants.ts';
export * from './records.ts';
export * from './exactJson.ts';
export * from './shareLinks.ts';
export * from './patientSummary.ts';
export * from './audit.ts';
export * from './categoryInference.ts';
export * from './fileCategories.ts';
export * from './fhirValidation.ts';
export * from './localWallet.ts';
export * from './emergency.ts';
export * from './portability.ts';
export * from './auditEvents.ts';
export * from './directory.ts';
export * from './registryActions.ts';
export * from './smart/index.ts';
