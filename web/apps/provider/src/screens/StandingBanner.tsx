import { formatDate } from '@medkey/fhir-display';
import { useProviderApp } from '../useProviderApp.ts';

/** Where this account stands with the registry: listed and verified, suspended (why, since when). */
export function StandingBanner() {
  const [state] = useProviderApp();
  const standing = state.standing;
  if (!standing || standing.status === 'unregistered') return null;
  const entry = standing.entry;
  const action = entry?.entry.registry_action;
  return (
    <section aria-label="Your registration" className="standing">
      {entry?.verdict.verified && (
        <p>
          Listed in the directory as <strong>{entry.entry.profile.display_name}</strong>
          {entry.entry.specialty ? `, ${entry.entry.specialty}` : ''}. Patients can find you by name.
        </p>
      )}
      {entry && !entry.verdict.verified && (
        <p role="alert" className="error">
          Your directory entry does not match what the registry holds ({entry.verdict.problem}). Tell the registry’s
          operator.
        </p>
      )}
      {standing.status === 'suspended' && (
        <p role="alert" className="error">
          Suspended by the registry{action?.at_ms ? ` on ${formatDate(new Date(action.at_ms))}` : ''}
          {action?.reason ? `: ${action.reason}` : ''}. Patients’ grants to you are paused until the registry reinstates
          you.
        </p>
      )}
    </section>
  );
}
