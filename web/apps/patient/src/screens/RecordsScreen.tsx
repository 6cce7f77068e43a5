import { formatDate, typeName } from '@medkey/fhir-display';
import type { Category } from '@medkey/client';
import { CATEGORIES, CATEGORY_LABELS, filterRecords } from '../services/patient.ts';
import { usePatientApp } from '../usePatientApp.ts';

export function RecordsScreen() {
  const [state, app] = usePatientApp();
  return (
    <section aria-labelledby="records-title">
      <h1 id="records-title">Your records</h1>
      <button type="button" onClick={() => app.show('add')}>
        Add records
      </button>
      <button type="button" onClick={() => download(app.exportBundle())} disabled={state.records.length === 0}>
        Download all as a FHIR file
      </button>
      {state.records.length === 0 && !state.busy && <p>You have no records yet. Add a FHIR file exported from your patient portal.</p>}
      {state.records.length > 0 && (
        <div className="filters">
          <label htmlFor="search">Search</label>
          <input id="search" type="search" value={state.filter.query} onChange={(e) => app.setFilter({ query: e.currentTarget.value })} />
          <label htmlFor="category">Category</label>
          <select id="category" value={state.filter.category} onChange={(e) => app.setFilter({ category: e.currentTarget.value as Category | '' })}>
            <option value="">All categories</option>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {CATEGORY_LABELS[c]}
              </option>
            ))}
          </select>
        </div>
      )}
      <ol className="timeline" aria-label="Your records, newest first">
        {filterRecords(state.records, state.filter).map((item) => (
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

/** Saves `blob` as a file the person keeps; the object URL is released at once. */
function download(blob: Blob) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `medkey-records-${new Date().toISOString().slice(0, 10)}.json`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
