import { Button } from '@mantine/core';
import { ResourceView, UNSHOWABLE, UnshowableRecord, formatDate } from '@medkey/fhir-display';
import { ProviderName } from './ProviderName.tsx';
import { useState } from 'react';
import { attachedFile } from '../services/timeline.ts';
import { usePatientApp } from '../usePatientApp.ts';
import { VersionHistory } from './VersionHistory.tsx';

/** Erasing asks twice: it cannot be undone. */
function EraseRecord({ recordId }: { recordId: string }) {
  const [state, app] = usePatientApp();
  const [asked, setAsked] = useState(false);
  if (!asked) {
    return (
      <Button type="button" variant="default" onClick={() => setAsked(true)} disabled={Boolean(state.busy)}>
        Erase this record
      </Button>
    );
  }
  return (
    <p role="group" aria-label="Erase this record">
      Erasing removes this record and every earlier version of it for good, for you and for everyone you shared it with.{' '}
      <Button type="button" color="red" onClick={() => void app.records.erase(recordId)} disabled={Boolean(state.busy)}>
        Erase it for good
      </Button>{' '}
      <Button type="button" variant="default" onClick={() => setAsked(false)}>
        Keep it
      </Button>
    </p>
  );
}

export function RecordScreen() {
  const [state, app] = usePatientApp();
  const item = state.records.find((r) => r.view.record_id === state.selected);
  const unshowable = item?.problem === UNSHOWABLE;
  return (
    <section aria-label="Record">
      <Button type="button" variant="default" onClick={() => app.show('records')}>
        Back to your records
      </Button>
      {!item && <p>This record is no longer here.</p>}
      {item?.problem && !unshowable && (
        <p role="alert">
          This record could not be opened: {item.problem} It may have been altered; tell your Medkey operator.
        </p>
      )}
      {unshowable && <UnshowableRecord text={item.text} />}
      {item && item.view.created_by.toLowerCase() !== item.view.owner.toLowerCase() && (
        <p className="notice">
          Added to your records by{' '}
          <ProviderName address={item.view.created_by} checked={state.names[item.view.created_by.toLowerCase()]} /> on{' '}
          {formatDate(new Date(item.view.created_at_ms))}.
        </p>
      )}
      {item?.resource && <ResourceView resource={item.resource} index={state.index} />}
      {attachedFile(item) && !state.preview && (
        <Button
          type="button"
          variant="default"
          onClick={() => void app.records.showAttachment(item!.view.record_id)}
          disabled={Boolean(state.busy)}
        >
          Show the attached file
        </Button>
      )}
      {state.preview?.contentType.startsWith('image/') && (
        <img className="preview" src={state.preview.url} alt={state.preview.title} />
      )}
      {state.preview?.text !== undefined && (
        <pre className="note-text" aria-label={state.preview.title}>
          {state.preview.text}
        </pre>
      )}
      {state.preview?.contentType === 'application/pdf' && (
        <iframe className="preview" src={state.preview.url} title={state.preview.title} />
      )}
      {item && <EraseRecord recordId={item.view.record_id} />}
      {item && <VersionHistory recordId={item.view.record_id} owner={item.view.owner} />}
    </section>
  );
}
