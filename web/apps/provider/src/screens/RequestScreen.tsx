import { Button, Checkbox, Fieldset, NativeSelect, TextInput } from '@mantine/core';
import { CATEGORY_LABELS, PURPOSE_LABELS } from '@medkey/app-shell';
import { CATEGORIES, type Category, type Purpose } from '@medkey/client';
import { useState, type FormEvent } from 'react';
import { isAddress } from 'viem';
import { useProviderApp } from '../useProviderApp.ts';
import { PatientAddressField } from './PatientAddressField.tsx';

export function RequestScreen() {
  const [state, app] = useProviderApp();
  const [patient, setPatient] = useState('');
  const [categories, setCategories] = useState<Category[]>([]);
  const [purpose, setPurpose] = useState<Purpose>('TREAT');
  const [days, setDays] = useState(30);
  const [note, setNote] = useState('');
  const [write, setWrite] = useState(false);
  const [problem, setProblem] = useState<string>();

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!isAddress(patient.trim()))
      return setProblem(
        'That is not a patient address: it starts with 0x and has 40 more characters. Copy it again from the patient.',
      );
    if (categories.length === 0) return setProblem('Choose at least one kind of record to ask for.');
    setProblem(undefined);
    void app.requestAccess({ patient: patient.trim(), categories, purpose, days, note: note.trim(), write });
  }

  return (
    <section aria-labelledby="request-title">
      <h1 id="request-title">Request access</h1>
      <p>The patient sees your request, with your name from the directory, and answers it from their own app.</p>
      <form onSubmit={submit}>
        <PatientAddressField value={patient} onChange={setPatient} />
        <Fieldset legend="Records you need" my="sm">
          {CATEGORIES.map((c) => (
            <Checkbox
              key={c}
              checked={categories.includes(c)}
              onChange={(e) => setCategories(e.target.checked ? [...categories, c] : categories.filter((x) => x !== c))}
              label={CATEGORY_LABELS[c]}
              my={4}
            />
          ))}
        </Fieldset>
        <Checkbox
          checked={write}
          onChange={(e) => setWrite(e.target.checked)}
          label="Also ask to add records to the patient’s file in these categories (results, letters): each shows it came from you"
          my={4}
        />
        <NativeSelect label="Why" value={purpose} onChange={(e) => setPurpose(e.target.value as Purpose)}>
          {Object.entries(PURPOSE_LABELS).map(([code, label]) => (
            <option key={code} value={code}>
              {label}
            </option>
          ))}
        </NativeSelect>
        <TextInput
          label="For how many days"
          type="number"
          min={1}
          max={365}
          value={days}
          onChange={(e) => setDays(Number(e.target.value))}
        />
        <TextInput
          label="A note for the patient (optional)"
          maxLength={500}
          value={note}
          onChange={(e) => setNote(e.target.value)}
        />
        {problem && (
          <p role="alert" className="error">
            {problem}
          </p>
        )}
        <Button type="submit" disabled={Boolean(state.busy)}>
          Send the request
        </Button>
      </form>
    </section>
  );
}
