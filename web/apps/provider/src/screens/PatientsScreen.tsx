import { Button } from '@mantine/core';
import { CATEGORY_LABELS, PURPOSE_LABELS } from '@medkey/app-shell';
import { PURPOSES, categoriesOf, type Category } from '@medkey/client';
import { formatDate } from '@medkey/fhir-display';
import { useProviderApp } from '../useProviderApp.ts';

const STATES: Record<string, string> = {
  live: 'Active',
  pending: 'Not started yet',
  expired: 'Expired',
  revoked: 'Withdrawn by the patient',
  suspended: 'Paused: you are suspended',
};

export function PatientsScreen() {
  const [state, app] = useProviderApp();
  return (
    <section aria-labelledby="patients-title">
      <h1 id="patients-title">My patients</h1>
      {state.patients.length === 0 && (
        <p>No patient has shared records with you yet. Ask one for access with “Request access”.</p>
      )}
      <ul className="patients">
        {state.patients.map((row) => (
          <li key={row.patient}>
            <h2>{row.name ?? 'A patient'}</h2>
            <p className="address">{row.patient}</p>
            <ul>
              {row.grants.map((g) => (
                <li key={g.grant.grant_id}>
                  {categoriesOf(g.grant.categories)
                    .map((c: Category) => CATEGORY_LABELS[c])
                    .join(', ')}{' '}
                  — for {PURPOSE_LABELS[PURPOSES[g.grant.purpose] ?? 'TREAT']?.toLowerCase() ?? 'treatment'}, until{' '}
                  {formatDate(new Date(g.grant.expires_at * 1000))} ({STATES[g.state] ?? g.state}
                  {g.grant.write ? '; you may add records' : ''})
                </li>
              ))}
            </ul>
            <Button
              type="button"

              onClick={() => void app.openPatient(row.patient)}
              disabled={Boolean(state.busy)}
            >
              Open {row.name ? `${row.name}’s` : 'the patient’s'} records
            </Button>
          </li>
        ))}
      </ul>
    </section>
  );
}
