export * from './fhir.ts';
export { ResourceView } from './ResourceView.tsx';
export * from './selfReported.ts';
