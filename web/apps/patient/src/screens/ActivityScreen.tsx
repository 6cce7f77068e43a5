import { Button, NativeSelect } from '@mantine/core';
import { formatDateTime } from '@medkey/fhir-display';
import { useState } from 'react';
import { usePatientApp } from '../usePatientApp.ts';
import { byActor, otherActors } from '@medkey/app-shell';
import { activityLines, actorName } from '../services/activityLines.ts';
import { saveFile } from '../services/saveFile.ts';

export function ActivityScreen() {
  const [state, app] = usePatientApp();
  const [actor, setActor] = useState('');
  const activity = state.activity;
  const all = activity?.entries ?? [];
  const entries = actor ? all.filter(({ entry }) => byActor(entry, actor)) : all;
  return (
    <section aria-labelledby="activity-title">
      <h1 id="activity-title">Who looked at what</h1>
      {activity?.check.ok && (
        <p className="notice">
          Checked in this browser: this list is the vault’s signed log of {activity.check.size} entries, every entry
          shown is in it
          {activity.anchored
            ? `, and it continues the copy anchored on the public chain on ${activity.anchored.anchoredAt.toLocaleString()}`
            : ''}
          .
        </p>
      )}
      {activity && !activity.check.ok && (
        <p role="alert" className="error">
          {activity.check.message}
        </p>
      )}
      <Button type="button" variant="default" onClick={() => void app.activity.load()}>
        Check again
      </Button>
      {activity?.check.ok && (
        <Button
          type="button"
          variant="default"
          onClick={() => {
            const blob = app.activity.asFhir();
            if (blob) saveFile(blob, `medkey-activity-${new Date().toISOString().slice(0, 10)}.json`);
          }}
        >
          Download as FHIR AuditEvents
        </Button>
      )}
      {activity && (
        <div className="filters">
          <NativeSelect
            label="Whose activity"
            id="actor"
            value={actor}
            onChange={(e) => setActor(e.currentTarget.value)}
          >
            <option value="">Everyone</option>
            {otherActors(
              all.map((e) => e.entry),
              state.address,
            ).map((a) => (
              <option key={a} value={a}>
                {actorName(a, state.names)}
              </option>
            ))}
          </NativeSelect>
        </div>
      )}
      <ol className="activity">
        {activityLines(entries, state.address, state.names, state.records).map((line) => (
          <li key={line.key}>
            <span className="record-date">{formatDateTime(line.at)}</span> <strong>{line.who}</strong> {line.what}
            {line.under && <span className="hint"> {line.under}</span>}
            {line.refused && <strong> (refused: {line.refused})</strong>}
          </li>
        ))}
      </ol>
    </section>
  );
}
