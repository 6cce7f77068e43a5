import { CATEGORY_LABELS } from '@medkey/app-shell';
import type { Category } from '@medkey/client';
import { ResourceView, formatDate, typeName } from '@medkey/fhir-display';
import { useProviderApp } from '../useProviderApp.ts';

export function PatientScreen() {
  const [state, app] = useProviderApp();
  const patient = state.patient;
  if (!patient) return null;
  const name = state.patients.find((p) => p.patient.toLowerCase() === patient.address.toLowerCase())?.name;
  return (
    <section aria-labelledby="patient-title">
      <button type="button" onClick={() => app.show('patients')}>
        Back to my patients
      </button>
      <h1 id="patient-title">{name ?? 'Patient'}’s records</h1>
      <p className="address">{patient.address}</p>
      {patient.records.length === 0 && <p>None of her records are shared with you now.</p>}
      <ul className="records">
        {patient.records.map((record) => {
          const opened = patient.opened[record.record_id];
          return (
            <li key={record.record_id}>
              {opened ? (
                <ResourceView resource={opened} />
              ) : (
                <button type="button" onClick={() => void app.openRecord(record.record_id)} disabled={Boolean(state.busy)}>
                  Open {typeName(record.resource_type).toLowerCase()} ({CATEGORY_LABELS[record.category as Category] ?? record.category},{' '}
                  {formatDate(new Date(record.updated_at_ms))})
                </button>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
