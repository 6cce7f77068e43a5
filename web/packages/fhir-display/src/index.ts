export * from './fhir.ts';
export { ResourceView } from './ResourceView.tsx';
