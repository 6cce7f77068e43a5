import { ResourceView } from '@medkey/fhir-display';
import { attachedFile } from '../services/timeline.ts';
import { usePatientApp } from '../usePatientApp.ts';
import { VersionHistory } from './VersionHistory.tsx';

export function RecordScreen() {
  const [state, app] = usePatientApp();
  const item = state.records.find((r) => r.view.record_id === state.selected);
  return (
    <section aria-label="Record">
      <button type="button" onClick={() => app.show('records')}>
        Back to your records
      </button>
      {!item && <p>This record is no longer here.</p>}
      {item?.problem && (
        <p role="alert">
          This record could not be opened: {item.problem} It may have been altered; tell your Medkey operator.
        </p>
      )}
      {item?.resource && <ResourceView resource={item.resource} />}
      {attachedFile(item) && !state.preview && (
        <button type="button" onClick={() => void app.showAttachment(item!.view.record_id)} disabled={Boolean(state.busy)}>
          Show the attached file
        </button>
      )}
      {state.preview?.contentType.startsWith('image/') && <img className="preview" src={state.preview.url} alt={state.preview.title} />}
      {state.preview?.contentType === 'application/pdf' && <iframe className="preview" src={state.preview.url} title={state.preview.title} />}
      {item && <VersionHistory recordId={item.view.record_id} owner={item.view.owner} />}
    </section>
  );
}
