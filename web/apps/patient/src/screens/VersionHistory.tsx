import { Button } from '@mantine/core';
import { ResourceView, formatDateTime } from '@medkey/fhir-display';
import { formatSize } from '../services/formatSize.ts';
import { usePatientApp } from '../usePatientApp.ts';

const when = (ms: number) => formatDateTime(new Date(ms));

/** Every stored version of the record on screen; an earlier one opens here, beside the current. */
export function VersionHistory({ recordId, owner }: { recordId: string; owner: string }) {
  const [state, app] = usePatientApp();
  const history = state.history?.recordId === recordId ? state.history : undefined;
  if (!history) return null;
  const [current, ...earlier] = history.versions;
  return (
    <section aria-labelledby="history-title" className="history">
      <h2 id="history-title">History</h2>
      <ol>
        {history.versions.map((v) => (
          <li key={v.version}>
            Version {v.version}, stored {when(v.created_at_ms)}
            {v.created_by.toLowerCase() === owner.toLowerCase() ? ' by you' : ` by ${v.created_by}`}
            {v.attachment_size !== null &&
              v.attachment_size !== undefined &&
              `, with an attached file (${formatSize(v.attachment_size)} encrypted)`}
            {v === current ? (
              ' (this is what you see above)'
            ) : (
              <>
                {' '}
                <Button
                  type="button"
                  variant="default"
                  onClick={() => void app.records.showVersion(recordId, v.version)}
                >
                  Show version {v.version}
                </Button>
              </>
            )}
          </li>
        ))}
      </ol>
      {earlier.length === 0 && <p className="hint">This record has not been changed since it was stored.</p>}
      {history.shown && (
        <div aria-label={`Version ${history.shown.version}`}>
          <h3>Version {history.shown.version}, as it was</h3>
          <ResourceView resource={history.shown.resource} />
        </div>
      )}
    </section>
  );
}
