import { Button } from '@mantine/core';
import { usePatientApp } from '../usePatientApp.ts';

export function WelcomeScreen() {
  const [state, app] = usePatientApp();
  return (
    <section aria-labelledby="welcome-title">
      <h1 id="welcome-title">Welcome to Medkey</h1>
      <p>Before you add records, your wallet creates your encryption key. Here is what you will be asked to sign:</p>
      <ol>
        <li>
          <strong>“Medkey encryption key”, twice.</strong> Your wallet’s signature of this message becomes the key that
          opens your records, in this browser only. We ask twice to check that your wallet always signs it the same way.
          Sign it only here: anyone who gets this signature could read your records.
        </li>
        <li>
          <strong>A message publishing your key.</strong> It lets providers you allow to add records encrypt them for
          you. It reveals nothing about your records.
        </li>
      </ol>
      <p>None of these costs anything or sends a transaction.</p>
      <Button type="button" onClick={() => void app.login.createKey()} disabled={Boolean(state.busy)}>
        Create my encryption key
      </Button>
    </section>
  );
}
