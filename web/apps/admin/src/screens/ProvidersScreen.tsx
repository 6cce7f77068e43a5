import { Button, TextInput } from '@mantine/core';
import type { CheckedEntry } from '@medkey/client';
import { formatDate } from '@medkey/fhir-display';
import { useState } from 'react';
import type { Address } from 'viem';
import { useAdminApp } from '../useAdminApp.ts';

const STEP_WORDS: Record<string, string> = {
  registered: 'Registered',
  profile_updated: 'New profile approved',
  suspended: 'Suspended',
  reinstated: 'Reinstated',
  key_rotated: 'Changed its encryption key',
};

function Provider({ checked }: { checked: CheckedEntry }) {
  const [state, app] = useAdminApp();
  const [reason, setReason] = useState('');
  const { entry, verdict } = checked;
  const p = entry.profile;
  const suspended = entry.status === 'suspended';
  const action = entry.registry_action;
  const reasonId = `reason-${p.provider}`;
  return (
    <li>
      <h2>{p.display_name}</h2>
      <p>
        {entry.specialty ?? p.taxonomy} · {p.organization} · {p.city}, {p.country}
      </p>
      <p className="address">{p.provider}</p>
      {!verdict.verified && (
        <p role="alert" className="error">
          Not verified: {verdict.problem}.
        </p>
      )}
      <p>
        {suspended ? 'Suspended' : 'Active'}
        {action
          ? ` — ${action.kind} by the registry${action.at_ms ? ` on ${formatDate(new Date(action.at_ms))}` : ''}${action.reason ? `: ${action.reason}` : ''}`
          : ''}
      </p>
      {state.histories[p.provider.toLowerCase()] ? (
        <ol aria-label={`History of ${p.display_name}`}>
          {state.histories[p.provider.toLowerCase()]!.map((step) => (
            <li key={`${step.tx_hash}-${step.kind}`}>
              {STEP_WORDS[step.kind] ?? step.kind}
              {step.at_ms ? ` on ${formatDate(new Date(step.at_ms))}` : ` in block ${step.block_number}`}
              {step.reason ? `: ${step.reason}` : ''}
            </li>
          ))}
        </ol>
      ) : (
        <Button type="button" variant="default" onClick={() => void app.loadHistory(p.provider as Address)}>
          History of {p.display_name}
        </Button>
      )}
      <TextInput
        label="Reason (public: the provider and its patients see it)"
        id={reasonId}
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        maxLength={500}
      />
      <Button
        type="button"
        color="red"
        onClick={() => void app.setSuspended(p.provider as Address, !suspended, reason)}
        disabled={Boolean(state.busy) || reason.trim() === ''}
      >
        {suspended ? `Reinstate ${p.display_name}` : `Suspend ${p.display_name}`}
      </Button>
    </li>
  );
}

export function ProvidersScreen() {
  const [state, app] = useAdminApp();
  return (
    <section aria-labelledby="providers-title">
      <h1 id="providers-title">Providers</h1>
      <p>Suspending pauses every grant to the provider until it is reinstated; patients see the reason.</p>
      <TextInput
        label="Search by name, organisation, city or NPI"
        type="search"
        value={state.query}
        onChange={(e) => void app.search(e.target.value)}
      />
      <ul className="providers">
        {state.providers.map((checked) => (
          <Provider key={checked.entry.profile.provider} checked={checked} />
        ))}
      </ul>
    </section>
  );
}
