import { Button, Checkbox, Fieldset, Textarea } from '@mantine/core';
import { CATEGORIES, type Category } from '@medkey/client';
import { useState } from 'react';
import type { Address } from 'viem';
import { CATEGORY_LABELS } from '@medkey/app-shell';
import { listOf } from '../services/sharing.ts';
import { usePatientApp } from '../usePatientApp.ts';

/** Break-glass settings: which records a named provider may open in an emergency (4 hours, logged). */
export function EmergencySettings() {
  const [state, app] = usePatientApp();
  const current = state.emergency;
  const [categories, setCategories] = useState<Category[] | null>(null);
  const [providers, setProviders] = useState<string | null>(null);
  if (!current) return null;
  const chosen = categories ?? current.categories;
  const named = (providers ?? current.providers.join('\n'))
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  const toggle = (c: Category) => setCategories(chosen.includes(c) ? chosen.filter((x) => x !== c) : [...chosen, c]);
  return (
    <section aria-labelledby="emergency-title">
      <h2 id="emergency-title">In an emergency</h2>
      <p>
        {current.categories.length === 0
          ? 'Off: no provider can open your records in an emergency.'
          : `On for ${listOf(current.categories.map((c) => CATEGORY_LABELS[c].toLowerCase()))}.`}
      </p>
      <Fieldset legend="What a provider may open in an emergency" my="sm">
        {CATEGORIES.map((c) => (
          <Checkbox key={c} checked={chosen.includes(c)} onChange={() => toggle(c)} label={CATEGORY_LABELS[c]} my={4} />
        ))}
      </Fieldset>
      <Textarea
        label="Providers you trust in an emergency (addresses, one per line)"
        id="emergency-providers"
        rows={3}
        value={providers ?? current.providers.join('\n')}
        onChange={(e) => setProviders(e.currentTarget.value)}
      />
      <p className="summary">
        Saving sends one transaction from your wallet, which pays a small network fee.{' '}
        {chosen.length > 0
          ? `The providers you name can then open your ${listOf(chosen.map((c) => CATEGORY_LABELS[c].toLowerCase()))} for 4 hours when they declare an emergency on the public chain; every opening is logged and shown in your activity.`
          : 'Emergency access is then off.'}
      </p>
      <Button
        type="button"

        disabled={Boolean(state.busy)}
        onClick={() => void app.sharing.saveEmergency({ categories: chosen, providers: named as Address[] })}
      >
        Save emergency settings
      </Button>
    </section>
  );
}
