// `make sandbox`: the SMART sandbox on loopback for a person to try "Connect a provider" against.
// MEDKEY_SANDBOX_REDIRECTS names where the app may be sent back (comma-separated; by default the
// patient app that `medkey dev` serves), MEDKEY_SANDBOX_PORT its port (8090).
import { startSandbox } from './sandbox.ts';

const redirectUris = (
  process.env.MEDKEY_SANDBOX_REDIRECTS ?? 'http://localhost:8080/connected.html,http://127.0.0.1:8080/connected.html'
)
  .split(',')
  .map((u) => u.trim())
  .filter(Boolean);
const sandbox = await startSandbox({ port: Number(process.env.MEDKEY_SANDBOX_PORT ?? 8090), redirectUris });
console.log(`SMART sandbox running.
  FHIR base URL:   ${sandbox.fhirBase}
  Client id:       ${sandbox.clientId} (public, PKCE S256)
  Redirect URIs:   ${redirectUris.join(', ')}
  Test logins:     ${sandbox.patients.join(', ')} (any password)
  Brands bundle:   ${JSON.stringify(sandbox.brands)}
Stop it with Ctrl-C.`);
process.on('SIGINT', () => void sandbox.stop().then(() => process.exit(0)));
