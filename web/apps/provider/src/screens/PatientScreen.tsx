import { Button, Group, Textarea } from '@mantine/core';
import { CATEGORY_LABELS, FilePicker } from '@medkey/app-shell';
import type { Category } from '@medkey/client';
import { ChartView, PatientPhoto, ResourceView, formatDate, typeName } from '@medkey/fhir-display';
import { useState } from 'react';
import { useProviderApp } from '../useProviderApp.ts';

/** A FHIR resource (pasted or from a file) and an optional attached file, for a write grant. */
function AddRecord() {
  const [state, app] = useProviderApp();
  const [text, setText] = useState('');
  const [file, setFile] = useState<File>();
  return (
    <form
      aria-labelledby="add-title"
      onSubmit={(e) => {
        e.preventDefault();
        void app.addRecord(text, file);
      }}
    >
      <h2 id="add-title">Add a record</h2>
      <p>
        The patient allowed you to add records. Each is encrypted here for the patient and for you, and shows that you
        added it.
      </p>
      <FilePicker
        label="FHIR JSON file"
        buttonText="Choose a FHIR JSON file"
        accept=".json,application/fhir+json,application/json"
        onChange={(e) => void e.target.files?.[0]?.text().then(setText)}
      />
      <Textarea
        label="Or paste the FHIR resource"
        rows={6}
        my="sm"
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <Group gap="sm" align="center">
        <FilePicker
          label="Attach a file (optional: a PDF or an image)"
          buttonText="Attach a PDF or an image (optional)"
          accept="application/pdf,image/png,image/jpeg,image/gif,image/webp"
          onChange={(e) => setFile(e.target.files?.[0])}
        />
        {file && <span className="hint">{file.name}</span>}
      </Group>
      <Button type="submit" mt="sm" disabled={Boolean(state.busy) || text.trim() === ''}>
        Encrypt and add to the patient’s records
      </Button>
    </form>
  );
}

/** The records listed before the chart is opened: one button each, a release logged per click. */
function RecordList() {
  const [state, app] = useProviderApp();
  const patient = state.patient!;
  return (
    <ul className="records">
      {patient.records.map((record) => {
        const opened = patient.opened[record.record_id];
        return (
          <li key={record.record_id}>
            {/* Sealed until opened: the day it was added is all the list can say; opened, the record's own date shows. */}
            {opened ? (
              <ResourceView resource={opened} />
            ) : (
              <Button
                type="button"
                variant="default"
                onClick={() => void app.openRecord(record.record_id)}
                disabled={Boolean(state.busy)}
              >
                Open {typeName(record.resource_type).toLowerCase()} (
                {CATEGORY_LABELS[record.category as Category] ?? record.category}, added{' '}
                {formatDate(new Date(record.updated_at_ms))})
              </Button>
            )}
          </li>
        );
      })}
    </ul>
  );
}

export function PatientScreen() {
  const [state, app] = useProviderApp();
  const patient = state.patient;
  if (!patient) return null;
  const row = state.patients.find((p) => p.patient.toLowerCase() === patient.address.toLowerCase());
  const canWrite = Boolean(row?.grants.some((g) => g.grant.write && g.state === 'live'));
  const born = row?.born ? new Date(row.born) : undefined;
  return (
    <section aria-labelledby="patient-title">
      <Button type="button" variant="default" onClick={() => app.show('patients')}>
        Back to my patients
      </Button>
      <PatientPhoto src={row?.photo} name={row?.name} />
      <h1 id="patient-title">{row?.name ?? 'Patient'}</h1>
      {born && !Number.isNaN(born.getTime()) && <p className="born">Born {formatDate(born)}</p>}
      <p className="address">{patient.address}</p>
      {/* Keyed on her records: once one is added, the form starts empty again. */}
      {canWrite && <AddRecord key={patient.records.length} />}
      {patient.records.length === 0 && <p>No records are shared with you now.</p>}
      {patient.records.length > 0 && !patient.chart && (
        <p>
          <Button type="button" onClick={() => void app.openChart()} disabled={Boolean(state.busy)}>
            Open the chart ({patient.records.length} record{patient.records.length === 1 ? '' : 's'})
          </Button>{' '}
          <span className="hint">Each record is released to you and logged on its own, in one request.</span>
        </p>
      )}
      {patient.refused.length > 0 && (
        <p role="alert">
          {patient.refused.length} record{patient.refused.length === 1 ? ' was' : 's were'} not released:{' '}
          {[...new Set(patient.refused.map((r) => r.message))].join(' ')}
        </p>
      )}
      {patient.chart ? <ChartView chart={patient.chart} /> : <RecordList />}
    </section>
  );
}
