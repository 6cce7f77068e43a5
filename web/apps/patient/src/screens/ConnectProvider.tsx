import { Button, Fieldset, Group, TextInput } from '@mantine/core';
import { formatDateTime } from '@medkey/fhir-display';
import { useState } from 'react';
import type { ConnectionItem } from '../services/connectService.ts';
import { usePatientApp } from '../usePatientApp.ts';

/** "Connect to your provider": her connections (sync, reconnect, disconnect), the providers this server lists, or an address she types. */
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
      {state.connections.length > 0 && (
        <section aria-labelledby="connections-heading">
          <h3 id="connections-heading">Your providers</h3>
          <ul className="connections">
            {state.connections.map((item) => (
              <Connection key={item.id} item={item} busy={busy} />
            ))}
          </ul>
        </section>
      )}
      {listed.length > 0 && (
        <Group gap="sm" my="xs">
          {listed.map((endpoint) => (
            <Button
              key={endpoint.address}
              type="button"
              onClick={() => void app.connect.connect(endpoint.address)}
              disabled={busy}
            >
              Connect to {endpoint.name}
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

/** One kept connection: where, when last synced, and what she can do with it. */
function Connection({ item, busy }: { item: ConnectionItem; busy: boolean }) {
  const [, app] = usePatientApp();
  const connection = item.connection;
  if (!connection)
    return (
      <li>
        {item.problem}{' '}
        <Button type="button" variant="default" onClick={() => void app.connect.disconnect(item.id)}>
          Remove
        </Button>
      </li>
    );
  const host = new URL(connection.server.fhirBase).host;
  const reconnect = connection.status === 'reconnect' || !connection.refreshToken;
  return (
    <li aria-label={host}>
      <strong>{host}</strong>{' '}
      {reconnect ? (
        <span className="warning">
          This provider no longer accepts Medkey’s sign-in: reconnect to sync your records from it again.
        </span>
      ) : connection.syncedAt ? (
        <span>Last synced {formatDateTime(new Date(connection.syncedAt))}.</span>
      ) : (
        <span>Connected {formatDateTime(new Date(connection.connectedAt))}; nothing stored from it yet.</span>
      )}
      <Group gap="xs" mt={4}>
        {reconnect ? (
          <Button
            type="button"
            onClick={() => void app.connect.connect(connection.server.fhirBase, item)}
            disabled={busy}
          >
            Reconnect to {host}
          </Button>
        ) : (
          <Button type="button" onClick={() => void app.connect.sync(item.id)} disabled={busy}>
            Sync now with {host}
          </Button>
        )}
        <Button
          type="button"

          variant="default"
          onClick={() => void app.connect.disconnect(item.id)}
          disabled={busy}
        >
          Disconnect {host}
        </Button>
      </Group>
    </li>
  );
}
