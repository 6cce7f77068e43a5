import type { CheckedEntry } from '@medkey/client';
import { formatDate } from '@medkey/fhir-display';
import { useState } from 'react';
import type { Address } from 'viem';
import { useAdminApp } from '../useAdminApp.ts';

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
        {action ? ` — ${action.kind} by the registry${action.at_ms ? ` on ${formatDate(new Date(action.at_ms))}` : ''}${action.reason ? `: ${action.reason}` : ''}` : ''}
      </p>
      <label htmlFor={reasonId}>Reason (public: the provider and its patients see it)</label>
      <input id={reasonId} value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} />
      <button
        type="button"
        onClick={() => void app.setSuspended(p.provider as Address, !suspended, reason)}
        disabled={Boolean(state.busy) || reason.trim() === ''}
      >
        {suspended ? `Reinstate ${p.display_name}` : `Suspend ${p.display_name}`}
      </button>
    </li>
  );
}

export function ProvidersScreen() {
  const [state, app] = useAdminApp();
  return (
    <section aria-labelledby="providers-title">
      <h1 id="providers-title">Providers</h1>
      <p>Suspending pauses every grant to the provider until it is reinstated; patients see the reason.</p>
      <label>
        Search by name, organisation, city or NPI
        <input type="search" value={state.query} onChange={(e) => void app.search(e.target.value)} />
      </label>
      <ul className="providers">
        {state.providers.map((checked) => (
          <Provider key={checked.entry.profile.provider} checked={checked} />
        ))}
      </ul>
    </section>
  );
}
