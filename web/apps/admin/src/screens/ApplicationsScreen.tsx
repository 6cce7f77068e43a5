import { Button, TextInput } from '@mantine/core';
import type { Schemas } from '@medkey/client';
import { formatDate } from '@medkey/fhir-display';
import { useState } from 'react';
import { useAdminApp } from '../useAdminApp.ts';

function Application({ application }: { application: Schemas['ApplicationView'] }) {
  const [state, app] = useAdminApp();
  const [reason, setReason] = useState('');
  const p = application.profile;
  const reasonId = `decline-${application.id}`;
  return (
    <li>
      <h2>{p.display_name}</h2>
      <dl>
        <dt>Organisation</dt>
        <dd>{p.organization || 'Independent practitioner'}</dd>
        <dt>NPI</dt>
        <dd>{p.npi} (its check digit is valid; look the number up in the official NPPES registry before approving)</dd>
        <dt>Specialty</dt>
        <dd>
          {application.specialty ?? 'Not a specialty Medkey names'} ({p.taxonomy})
        </dd>
        <dt>City</dt>
        <dd>
          {p.city}, {p.country}
        </dd>
        <dt>Contact</dt>
        <dd>{[p.website, p.phone, p.email].filter(Boolean).join(' · ')}</dd>
        <dt>Wallet</dt>
        <dd className="address">{p.provider}</dd>
        <dt>Applied</dt>
        <dd>
          {formatDate(new Date(application.submitted_at_ms))} (
          {application.kind === 'update' ? 'a new profile for a registered provider' : 'a new provider'})
        </dd>
      </dl>
      {(application.npi_also_listed_for ?? []).length > 0 && (
        <p role="alert" className="error">
          This NPI is already listed for {(application.npi_also_listed_for ?? []).join(', ')}.
        </p>
      )}
      <p>
        Approving sends a transaction from your wallet that registers this provider and records its profile’s
        fingerprint on chain.
      </p>
      <Button
        type="button"

        onClick={() => void app.approve(application)}
        disabled={Boolean(state.busy)}
      >
        Approve {p.display_name}
      </Button>
      <TextInput
        label="Reason to decline (the applicant sees it)"
        id={reasonId}
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        maxLength={500}
      />
      <Button
        type="button"
        color="red"
        onClick={() => void app.decline(application, reason)}
        disabled={Boolean(state.busy) || reason.trim() === ''}
      >
        Decline {p.display_name}
      </Button>
    </li>
  );
}

export function ApplicationsScreen() {
  const [state] = useAdminApp();
  return (
    <section aria-labelledby="applications-title">
      <h1 id="applications-title">Applications</h1>
      {state.applications.length === 0 && <p>No application is waiting.</p>}
      <ul className="applications">
        {state.applications.map((application) => (
          <Application key={application.id} application={application} />
        ))}
      </ul>
    </section>
  );
}
