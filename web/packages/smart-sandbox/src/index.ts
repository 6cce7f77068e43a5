export { startSandbox, type Sandbox, type SandboxOptions, PATIENT_FILES } from './sandbox.ts';
export type { Quirks } from './fhirApi.ts';
export { CLI_CLIENT_ID } from './authServer.ts';
