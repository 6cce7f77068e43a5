import { usePatientApp } from '../usePatientApp.ts';
import { PlanReview } from './PlanReview.tsx';
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
      {state.planned.length > 0 && <PlanReview />}
      <button type="button" onClick={() => app.show('records')}>
        Back to your records
      </button>
    </section>
  );
}
