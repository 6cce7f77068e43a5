import { formatDate, typeName } from '@medkey/fhir-display';
import { CATEGORY_LABELS } from '../services/patient.ts';
import { usePatientApp } from '../usePatientApp.ts';

export function RecordsScreen() {
  const [state, app] = usePatientApp();
  return (
    <section aria-labelledby="records-title">
      <h1 id="records-title">Your records</h1>
      <button type="button" onClick={() => app.show('add')}>
        Add records
      </button>
      {state.records.length === 0 && !state.busy && <p>You have no records yet. Add a FHIR file exported from your patient portal.</p>}
      <ol className="timeline">
        {state.records.map((item) => (
          <li key={item.view.record_id}>
            <button type="button" className="record-link" onClick={() => app.show('record', item.view.record_id)}>
              <span className="record-date">{formatDate(item.date ?? new Date(item.view.created_at_ms))}</span>
              <span className="record-title">{item.title}</span>
              <span className="record-meta">
                {typeName(item.view.resource_type)} · {CATEGORY_LABELS[item.view.category as keyof typeof CATEGORY_LABELS] ?? item.view.category}
                {item.view.created_by !== item.view.owner && ` · added by ${item.view.created_by}`}
              </span>
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}
