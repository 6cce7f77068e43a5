import { Button, Fieldset, NativeSelect, TextInput } from '@mantine/core';
import type { SelfReport } from '@medkey/fhir-display';
import { useState } from 'react';
import { usePatientApp } from '../usePatientApp.ts';

type Kind = SelfReport['kind'];
const KINDS: { kind: Kind; label: string }[] = [
  { kind: 'blood-pressure', label: 'Blood pressure' },
  { kind: 'weight', label: 'Weight' },
  { kind: 'allergy', label: 'An allergy' },
  { kind: 'medication', label: 'A medication I take' },
];

/** A short form for what she notes herself; the service turns it into FHIR and checks it. */
export function SelfReportForm() {
  const [, app] = usePatientApp();
  const [kind, setKind] = useState<Kind>('blood-pressure');
  const [first, setFirst] = useState('');
  const [second, setSecond] = useState('');
  const labels: Record<Kind, [string, string | null]> = {
    'blood-pressure': ['Upper number (systolic, mmHg)', 'Lower number (diastolic, mmHg)'],
    weight: ['Weight (kg)', null],
    allergy: ['Allergic to', 'What happens (optional)'],
    medication: ['Medication', 'How you take it (optional)'],
  };
  const [firstLabel, secondLabel] = labels[kind];
  const report = (): SelfReport => {
    const when = new Date();
    switch (kind) {
      case 'blood-pressure':
        return { kind, systolic: Number(first), diastolic: Number(second), when };
      case 'weight':
        return { kind, kilograms: Number(first.replace(',', '.')), when };
      case 'allergy':
        return { kind, substance: first, reaction: second };
      case 'medication':
        return { kind, name: first, dosage: second };
    }
  };
  return (
    <Fieldset legend="Or note something yourself" my="md">
      <NativeSelect
        id="self-kind"
        label="What"
        value={kind}
        onChange={(e) => (setKind(e.currentTarget.value as Kind), setFirst(''), setSecond(''))}
      >
        {KINDS.map((k) => (
          <option key={k.kind} value={k.kind}>
            {k.label}
          </option>
        ))}
      </NativeSelect>
      <TextInput
        id="self-first"
        label={firstLabel}
        mt="xs"
        value={first}
        onChange={(e) => setFirst(e.currentTarget.value)}
        inputMode={kind === 'blood-pressure' || kind === 'weight' ? 'decimal' : 'text'}
      />
      {secondLabel && (
        <TextInput
          id="self-second"
          label={secondLabel}
          mt="xs"
          value={second}
          onChange={(e) => setSecond(e.currentTarget.value)}
          inputMode={kind === 'blood-pressure' ? 'decimal' : 'text'}
        />
      )}
      <Button type="button" variant="default" mt="sm" onClick={() => app.records.planSelfReport(report())}>
        Add to the list
      </Button>
    </Fieldset>
  );
}
