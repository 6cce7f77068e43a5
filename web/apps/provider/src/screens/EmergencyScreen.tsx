import { Button, Checkbox, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useProviderApp } from '../useProviderApp.ts';
import { PatientAddressField } from './PatientAddressField.tsx';

export function EmergencyScreen() {
  const [state, app] = useProviderApp();
  const [patient, setPatient] = useState('');
  const [reason, setReason] = useState('');
  const [understood, setUnderstood] = useState(false);

  function submit(event: FormEvent) {
    event.preventDefault();
    void app.openEmergency(patient, reason);
  }

  return (
    <section aria-labelledby="emergency-title">
      <h1 id="emergency-title">Emergency access</h1>
      <p>
        For a patient who cannot answer, and who allowed emergency access in advance. It opens the categories she chose
        for 4 hours, then closes by itself.
      </p>
      <form onSubmit={submit}>
        <PatientAddressField value={patient} onChange={setPatient} />
        <TextInput
          label="Why you need it now (at least 10 characters)"
          required
          minLength={10}
          maxLength={500}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />
        <Checkbox
          checked={understood}
          onChange={(e) => setUnderstood(e.target.checked)}
          label="I understand: this is recorded publicly on the blockchain under my address, with a fingerprint of my reason; the patient sees it; and every record I open is logged."
          my={4}
        />
        <Button type="submit" disabled={Boolean(state.busy) || !understood || reason.trim().length < 10}>
          Open emergency access
        </Button>
      </form>
    </section>
  );
}
