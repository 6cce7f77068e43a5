import { Button } from '@mantine/core';
import { ProviderName, shortName, suspensionWords } from './ProviderName.tsx';
import { categoriesOf, type Category } from '@medkey/client';
import { formatDate } from '@medkey/fhir-display';
import { CATEGORY_LABELS } from '@medkey/app-shell';
import { listOf } from '../services/sharing.ts';
import { usePatientApp } from '../usePatientApp.ts';
import { EmergencySettings } from './EmergencySettings.tsx';

const STATE_WORDS = {
  pending: 'Not started yet',
  live: 'Active',
  expired: 'Ended',
  revoked: 'Stopped',
  suspended: 'On hold: the registry suspended this provider, so it can read nothing until reinstated',
} as const;

export function SharingScreen() {
  const [state, app] = usePatientApp();
  return (
    <section aria-labelledby="sharing-title">
      <h1 id="sharing-title">Who can read your records</h1>
      <Button type="button" onClick={() => app.show('share')}>
        Share with a provider
      </Button>{' '}
      <Button type="button" variant="default" onClick={() => app.show('links')}>
        Share by link or QR code
      </Button>{' '}
      <Button type="button" variant="default" onClick={() => app.show('card')}>
        Emergency card
      </Button>
      {state.requests.length > 0 && (
        <>
          <h2>Asking for access</h2>
          <ul className="grants">
            {state.requests.map((request) => (
              <li key={request.id}>
                <p>
                  <ProviderName address={request.provider} checked={state.names[request.provider.toLowerCase()]} /> asks
                  to {request.write ? 'read and add to' : 'read'} your{' '}
                  {listOf(request.categories.map((c) => CATEGORY_LABELS[c as Category]?.toLowerCase() ?? c))} for{' '}
                  {Math.round(request.duration_secs / 86_400)} days.
                </p>
                {request.note && <p className="hint">“{request.note}”</p>}
                <Button type="button" onClick={() => app.sharing.approve(request)}>
                  Review and approve
                </Button>
                <Button type="button" variant="default" onClick={() => void app.sharing.decline(request.id)}>
                  Decline
                </Button>
              </li>
            ))}
          </ul>
          <h2>Shared</h2>
        </>
      )}
      {state.grants.length === 0 && <p>You have not shared anything yet.</p>}
      <ul className="grants">
        {state.grants.map(({ grant, state: grantState }) => (
          <li key={grant.grant_id}>
            <p>
              <ProviderName address={grant.provider} checked={state.names[grant.provider.toLowerCase()]} />:{' '}
              {listOf(categoriesOf(grant.categories).map((c: Category) => CATEGORY_LABELS[c].toLowerCase()))}
              {grant.write ? ', and may add records' : ''}
            </p>
            <p className="hint">
              {STATE_WORDS[grantState]} · until {formatDate(new Date(grant.expires_at * 1000))}
              {grant.emergency ? ' · emergency access' : ''}
            </p>
            {grantState === 'suspended' && suspensionWords(state.names[grant.provider.toLowerCase()]) && (
              <p className="warning">{suspensionWords(state.names[grant.provider.toLowerCase()])}</p>
            )}
            {(grantState === 'live' || grantState === 'pending' || grantState === 'suspended') && (
              <Button
                type="button"
                color="red"
                variant="light"
                onClick={() => void app.sharing.revoke(grant.grant_id)}
                disabled={Boolean(state.busy)}
              >
                Stop sharing with {shortName(grant.provider, state.names[grant.provider.toLowerCase()])}
              </Button>
            )}
          </li>
        ))}
      </ul>
      <EmergencySettings />
    </section>
  );
}
