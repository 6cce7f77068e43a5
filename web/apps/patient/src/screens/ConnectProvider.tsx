import { Button, Fieldset, Group, TextInput } from '@mantine/core';
import { useState } from 'react';
import { usePatientApp } from '../usePatientApp.ts';

/** "Connect to your provider": the providers this server lists, or an address she types. */
export function ConnectProvider() {
  const [state, app] = usePatientApp();
  const [address, setAddress] = useState('');
  const listed = app.connect.endpoints();
  const busy = Boolean(state.busy);
  return (
    <Fieldset legend="Or bring them from your provider" my="md">
      <p className="hint">
        Sign in at your provider’s patient portal in a window that opens; Medkey then reads your records from it, in
        this browser, and shows you what came before anything is stored. Medkey’s server never sees your provider or
        your records in the clear.
      </p>
      {listed.length > 0 && (
        <Group gap="sm" my="xs">
          {listed.map((endpoint) => (
            <Button key={endpoint} type="button" onClick={() => void app.connect.connect(endpoint)} disabled={busy}>
              Connect to {new URL(endpoint).host}
            </Button>
          ))}
        </Group>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void app.connect.connect(address);
        }}
      >
        <TextInput
          label="Your provider’s FHIR address (from its patient portal)"
          placeholder="https://fhir.example-hospital.org/api/FHIR/R4"
          value={address}
          onChange={(e) => setAddress(e.currentTarget.value)}
          inputMode="url"
          autoComplete="off"
        />
        <Button type="submit" variant="default" disabled={busy || address.trim() === ''}>
          Connect
        </Button>
      </form>
      {state.signingIn && (
        <Button type="button" variant="default" onClick={() => app.connect.cancel()}>
          Stop waiting for the sign-in
        </Button>
      )}
      {state.pullFailures.length > 0 && (
        <div className="warning" role="status">
          <p>Some of your records could not be brought in; the others are below.</p>
          <ul>
            {state.pullFailures.map((f) => (
              <li key={f.what}>
                {f.what}: {f.why}
              </li>
            ))}
          </ul>
        </div>
      )}
    </Fieldset>
  );
}
