import { titleOf, typeName } from '@medkey/fhir-display';
import { formatSize } from '../services/formatSize.ts';
import type { Category } from '@medkey/client';
import { CATEGORIES, CATEGORY_LABELS } from '../services/patient.ts';
import { usePatientApp } from '../usePatientApp.ts';
import { SelfReportForm } from './SelfReportForm.tsx';

export function AddRecordScreen() {
  const [state, app] = usePatientApp();
  return (
    <section aria-labelledby="add-title">
      <h1 id="add-title">Add records</h1>
      <p>
        Choose a file your patient portal exported: FHIR (JSON: one resource or a Bundle; or NDJSON, one resource per
        line) or C-CDA (XML). Nothing is stored until you check the list below: each record is then encrypted in this
        browser before it is sent.
      </p>
      <label htmlFor="file">FHIR or C-CDA file</label>
      <input
        id="file"
        type="file"
        accept=".json,.ndjson,.xml,application/json,application/fhir+json,application/fhir+ndjson,text/xml,application/xml"
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          if (file) void app.records.planFile(file);
        }}
      />
      <label htmlFor="document">Or attach a document (PDF or image)</label>
      <input
        id="document"
        type="file"
        accept="application/pdf,image/png,image/jpeg,image/gif,image/webp"
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          if (file) void app.records.attachFile(file);
        }}
      />
      <SelfReportForm />
      {state.planned.length > 0 && (
        <>
          <h2>What will be stored</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Record</th>
                <th scope="col">Category</th>
              </tr>
            </thead>
            <tbody>
              {state.planned.map((plan, i) => (
                <tr key={i} className={plan.sensitive ? 'sensitive' : undefined}>
                  <td>
                    {titleOf(plan.resource)} <span className="hint">({typeName(plan.resource.resourceType)})</span>
                    {plan.attachment && (
                      <p className="hint">
                        With an attached file: {plan.attachment.title} ({formatSize(plan.attachment.file.size)})
                      </p>
                    )}
                    {plan.sensitive && (
                      <p className="warning">
                        Sensitive{plan.because ? ` (recognised by ${plan.because})` : ''}: never shared unless you
                        choose this category by name.
                      </p>
                    )}
                  </td>
                  <td>
                    <select
                      aria-label={`Category of ${titleOf(plan.resource)}`}
                      value={plan.category ?? ''}
                      onChange={(e) => app.records.setPlannedCategory(i, e.currentTarget.value as Category)}
                    >
                      <option value="" disabled>
                        Choose a category
                      </option>
                      {CATEGORIES.map((c) => (
                        <option key={c} value={c}>
                          {CATEGORY_LABELS[c]}
                        </option>
                      ))}
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" onClick={() => void app.records.storePlanned()} disabled={Boolean(state.busy)}>
            Encrypt and store {state.planned.length} record{state.planned.length === 1 ? '' : 's'}
          </button>
        </>
      )}
      <button type="button" onClick={() => app.show('records')}>
        Back to your records
      </button>
    </section>
  );
}
