import { usePatientApp } from '../usePatientApp.ts';
import { outcomeWords, whatHappened } from '../services/activity.ts';

export function ActivityScreen() {
  const [state, app] = usePatientApp();
  const activity = state.activity;
  const entries = [...(activity?.entries ?? [])].reverse();
  return (
    <section aria-labelledby="activity-title">
      <h1 id="activity-title">Who looked at what</h1>
      {activity?.check.ok && (
        <p className="notice">
          Checked in this browser: this list is the vault’s signed log of {activity.check.size} entries, every entry shown is
          in it{activity.anchored ? `, and it continues the copy anchored on the public chain on ${activity.anchored.anchoredAt.toLocaleString()}` : ''}.
        </p>
      )}
      {activity && !activity.check.ok && (
        <p role="alert" className="error">
          {activity.check.message}
        </p>
      )}
      <button type="button" onClick={() => void app.loadActivity()}>
        Check again
      </button>
      <ol className="activity">
        {entries.map(({ leaf_index, entry }) => (
          <li key={leaf_index}>
            <span className="record-date">{new Date(entry.at_ms).toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' })}</span>{' '}
            <span className="address">{entry.actor.toLowerCase() === state.address?.toLowerCase() ? 'You' : entry.actor}</span> {whatHappened(entry)}
            {entry.outcome !== 'ok' && <strong> (refused: {outcomeWords(entry.outcome)})</strong>}
          </li>
        ))}
      </ol>
    </section>
  );
}
