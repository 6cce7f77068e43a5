export { startSandbox, type Sandbox, type SandboxOptions, PATIENT_FILES } from './sandbox.ts';
export type { Quirks } from './fhirApi.ts';
