import { Button } from '@mantine/core';
import { outcomeWords, underWhat, whatHappened } from '@medkey/app-shell';
import { useProviderApp } from '../useProviderApp.ts';

export function HistoryScreen() {
  const [state, app] = useProviderApp();
  const history = state.history;
  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">My access history</h1>
      {history && (
        <p className={history.check.ok ? 'notice' : 'error'} role={history.check.ok ? undefined : 'alert'}>
          {history.check.ok
            ? 'Checked in this browser: this list is the vault’s signed log, every entry included, consistent with the anchor on chain.'
            : `This list could not be verified: ${history.check.message}`}
        </p>
      )}
      <Button type="button" variant="default" onClick={() => void app.loadHistory()} disabled={Boolean(state.busy)}>
        Check again
      </Button>
      <ul className="activity">
        {[...(history?.entries ?? [])].reverse().map(({ entry, leaf_index }) => (
          <li key={leaf_index}>
            {new Date(entry.at_ms).toLocaleString()}: you {whatHappened(entry)}
            {entry.patient ? ` of ${entry.patient}` : ''}
            {underWhat(entry) ? `, ${underWhat(entry)}` : ''}
            {entry.outcome !== 'ok' ? ` (${outcomeWords(entry.outcome)})` : ''}
          </li>
        ))}
      </ul>
    </section>
  );
}
