export * from './fhir.ts';
export { ErrorBoundary } from './ErrorBoundary.tsx';
export { ResourceView, UnshowableRecord } from './ResourceView.tsx';
export * from './selfReported.ts';
export * from './read.ts';
