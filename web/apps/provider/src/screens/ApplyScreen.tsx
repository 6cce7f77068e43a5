import { Button, NativeSelect, TextInput } from '@mantine/core';
import { namedSpecialties, npiIsValid, type ProfileFields } from '@medkey/client';
import { formatDate } from '@medkey/fhir-display';
import { useState, type FormEvent } from 'react';
import { useProviderApp } from '../useProviderApp.ts';

const EMPTY: ProfileFields = {
  display_name: '',
  organization: '',
  npi: '',
  taxonomy: '',
  city: '',
  country: 'US',
  website: '',
  phone: '',
  email: '',
};

const ANSWERS: Record<string, string> = {
  pending: 'Waiting for the registry’s review',
  approved: 'Approved: you are registered and listed',
  declined: 'Declined',
};

export function ApplyScreen() {
  const [state, app] = useProviderApp();
  const [fields, setFields] = useState<ProfileFields>(EMPTY);
  const [problem, setProblem] = useState<string>();
  const pending = state.applications.some((a) => a.status === 'pending');
  const set = (name: keyof ProfileFields) => (event: { target: { value: string } }) =>
    setFields({ ...fields, [name]: event.target.value });

  function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.trim()])) as ProfileFields;
    if (!npiIsValid(trimmed.npi))
      return setProblem(
        'That NPI is not valid: it has 10 digits and its last one is a check digit. Look for a typing mistake.',
      );
    if (!trimmed.website && !trimmed.phone && !trimmed.email)
      return setProblem('Give patients a way to reach you: a website, a phone number or an e-mail address.');
    setProblem(undefined);
    void app.apply({ ...trimmed, country: trimmed.country.toUpperCase() });
  }

  return (
    <section aria-labelledby="apply-title">
      <h1 id="apply-title">Register as a provider</h1>
      {state.applications.length > 0 && (
        <>
          <h2>Your applications</h2>
          <ul className="applications">
            {state.applications.map((a) => (
              <li key={a.id}>
                <strong>{a.profile.display_name}</strong> — {ANSWERS[a.status] ?? a.status}
                {a.reason ? `: ${a.reason}` : ''} ({formatDate(new Date(a.decided_at_ms ?? a.submitted_at_ms))})
              </li>
            ))}
          </ul>
        </>
      )}
      {!pending && state.standing?.status === 'unregistered' && (
        <form onSubmit={submit} aria-describedby="apply-help">
          <p id="apply-help">
            Your profile is public business information that patients see when they look for you. Your wallet signs it
            together with your encryption key; the registry checks your NPI and, if it approves, records the profile’s
            fingerprint on the blockchain.
          </p>
          <TextInput
            label="Name patients will see"
            required
            value={fields.display_name}
            onChange={set('display_name')}
            placeholder="Dr. Maria Lopez"
          />
          <TextInput label="Practice, clinic or hospital" value={fields.organization} onChange={set('organization')} />
          <TextInput
            label="NPI (National Provider Identifier)"
            required
            inputMode="numeric"
            value={fields.npi}
            onChange={set('npi')}
          />
          <NativeSelect label="Specialty" required value={fields.taxonomy} onChange={set('taxonomy')}>
            <option value="">Choose your specialty</option>
            {namedSpecialties().map((s) => (
              <option key={s.code} value={s.code}>
                {s.name}
              </option>
            ))}
          </NativeSelect>
          <TextInput label="City" required value={fields.city} onChange={set('city')} />
          <TextInput
            label="Country (two letters)"
            required
            maxLength={2}
            value={fields.country}
            onChange={set('country')}
          />
          <TextInput label="Website (https://)" type="url" value={fields.website} onChange={set('website')} />
          <TextInput
            label="Phone (international, e.g. +1 555 010 0199)"
            type="tel"
            value={fields.phone}
            onChange={set('phone')}
          />
          <TextInput label="E-mail" type="email" value={fields.email} onChange={set('email')} />
          {problem && (
            <p role="alert" className="error">
              {problem}
            </p>
          )}
          <Button type="submit" disabled={Boolean(state.busy)}>
            Sign and apply
          </Button>
        </form>
      )}
    </section>
  );
}
