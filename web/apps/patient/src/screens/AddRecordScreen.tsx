import { FilePicker } from '@medkey/app-shell';
import { Button, Stack } from '@mantine/core';
import { usePatientApp } from '../usePatientApp.ts';
import { ConnectProvider } from './ConnectProvider.tsx';
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
      <Stack gap="sm" align="flex-start" my="md">
        <FilePicker
          label="FHIR or C-CDA file"
          buttonText="Choose a FHIR or C-CDA file"
          accept=".json,.ndjson,.xml,application/json,application/fhir+json,application/fhir+ndjson,text/xml,application/xml"
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            if (file) void app.records.planFile(file);
          }}
        />
        <FilePicker
          label="Or attach a document (PDF or image)"
          buttonText="Attach a PDF or an image"
          accept="application/pdf,image/png,image/jpeg,image/gif,image/webp"
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            if (file) void app.records.attachFile(file);
          }}
        />
      </Stack>
      <ConnectProvider />
      <SelfReportForm />
      {state.planned.length > 0 && <PlanReview />}
      <Button type="button" variant="default" mt="md" onClick={() => app.show('records')}>
        Back to your records
      </Button>
    </section>
  );
}
