import type { CheckedEntry } from '@medkey/client';
import { formatDate } from '@medkey/fhir-display';

/**
 * A provider by name, with its address beside it for checking: the directory's name only when
 * the entry checked out against the chain, a warning when it did not, the address alone when
 * the provider is not listed.
 */
export function ProviderName({ address, checked }: { address: string; checked?: CheckedEntry | undefined }) {
  if (!checked) return <strong className="address">{address}</strong>;
  const { entry, verdict } = checked;
  if (!verdict.verified) {
    return (
      <span>
        <strong className="address">{address}</strong>{' '}
        <span className="warning">(its directory entry could not be verified: {verdict.problem})</span>
      </span>
    );
  }
  const about = [entry.specialty, entry.profile.organization, entry.profile.city].filter(Boolean).join(', ');
  return (
    <span>
      <strong>{entry.profile.display_name}</strong>
      {about ? ` (${about})` : ''} <span className="address">{address}</span>
    </span>
  );
}

/** "Suspended by the registry on 3 December 2026: …", when the registry said why. */
export function suspensionWords(checked: CheckedEntry | undefined): string | undefined {
  const action = checked?.verdict.verified ? checked.entry.registry_action : undefined;
  if (!action || action.kind !== 'suspended') return undefined;
  const when = action.at_ms ? ` on ${formatDate(new Date(action.at_ms))}` : '';
  return `Suspended by the registry${when}${action.reason ? `: ${action.reason}` : ''}.`;
}

/** The provider's name if verified, else the start of its address. */
export function shortName(address: string, checked: CheckedEntry | undefined): string {
  return checked?.verdict.verified ? checked.entry.profile.display_name : `${address.slice(0, 8)}…`;
}

/** "Dr. Maria Lopez (0x…)" if verified, else the whole address: for what a signature means. */
export function namedAddress(address: string, checked: CheckedEntry | undefined): string {
  return checked?.verdict.verified ? `${checked.entry.profile.display_name} (${address})` : address;
}
