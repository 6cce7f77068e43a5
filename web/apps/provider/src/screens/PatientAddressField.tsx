import { TextInput } from '@mantine/core';
import { useId } from 'react';
import { useProviderApp } from '../useProviderApp.ts';

/**
 * "Patient’s address", with the patients who already share with this provider offered by name
 * (patients are not in the public directory, so a new one gives her address herself).
 */
export function PatientAddressField({ value, onChange }: { value: string; onChange: (address: string) => void }) {
  const [{ patients }] = useProviderApp();
  const known = useId();
  return (
    <>
      <TextInput
        label="Patient’s address"
        required
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder="0x… (or pick one of your patients)"
        list={known}
        autoComplete="off"
      />
      <datalist id={known}>
        {patients.map((p) => (
          <option key={p.patient} value={p.patient}>
            {p.name ? `${p.name}${p.born ? `, born ${p.born}` : ''}` : 'A patient who shares with you'}
          </option>
        ))}
      </datalist>
    </>
  );
}
