import { Button, Checkbox, Fieldset, NativeSelect, Radio, TextInput } from '@mantine/core';
import { ProviderName, namedAddress } from './ProviderName.tsx';
import { CATEGORIES, SENSITIVE_CATEGORIES, type Category, type Purpose } from '@medkey/client';
import { useState } from 'react';
import type { Address } from 'viem';
import { CATEGORY_LABELS } from '@medkey/app-shell';
import { DURATIONS, PURPOSE_LABELS, SENSITIVE_WARNINGS, grantSummary } from '../services/sharing.ts';
import { usePatientApp } from '../usePatientApp.ts';

const DAY = 86_400_000;

export function ShareScreen() {
  const [state, app] = usePatientApp();
  const prefill = state.prefill;
  const [address, setAddress] = useState(prefill?.provider ?? '');
  const [query, setQuery] = useState('');
  const [categories, setCategories] = useState<Category[]>(prefill?.categories ?? []);
  const [purpose, setPurpose] = useState<Purpose>((prefill?.purpose as Purpose | undefined) ?? 'TREAT');
  const [days, setDays] = useState<number>(prefill?.days ?? 30);
  const [write, setWrite] = useState<boolean>(prefill?.write ?? false);
  const [showWho, setShowWho] = useState(true);
  const until = new Date(Date.now() + days * DAY);
  const provider = state.provider;
  const ready = provider?.status === 'active' && categories.length > 0;
  const toggle = (c: Category) =>
    setCategories((list) => (list.includes(c) ? list.filter((x) => x !== c) : [...list, c]));
  const ordinary = CATEGORIES.filter((c) => !SENSITIVE_CATEGORIES.includes(c));
  const checkbox = (c: Category) => (
    <Checkbox
      key={c}
      checked={categories.includes(c)}
      onChange={() => toggle(c)}
      label={
        <>
          {CATEGORY_LABELS[c]} {SENSITIVE_WARNINGS[c] && <span className="warning"> {SENSITIVE_WARNINGS[c]}</span>}
        </>
      }
      my={4}
    />
  );
  return (
    <section aria-labelledby="share-title">
      <h1 id="share-title">Share with a provider</h1>
      {prefill && (
        <p className="notice">
          Filled in from the provider’s request. Check each step: you can change anything before you sign.
        </p>
      )}
      <h2>1. Who</h2>
      <TextInput
        label="Find your provider by name, practice, city or NPI"
        id="find-provider"
        type="search"
        value={query}
        onChange={(e) => setQuery(e.currentTarget.value)}
        autoComplete="off"
      />
      <Button type="button" variant="default" onClick={() => void app.sharing.findProviders(query)}>
        Search the directory
      </Button>
      {state.found && state.found.length === 0 && (
        <p>No provider in the directory matches “{query}”. Try part of the name, or ask the clinic for its address.</p>
      )}
      {state.found && state.found.length > 0 && (
        <ul className="found">
          {state.found.map((checked) => (
            <li key={checked.entry.profile.provider}>
              <ProviderName address={checked.entry.profile.provider} checked={checked} />
              {checked.entry.status === 'suspended' && <span className="warning"> Suspended by the registry.</span>}
              {checked.verdict.verified && checked.entry.status === 'active' && (
                <Button
                  type="button"
                  variant="default"
                  onClick={() => {
                    setAddress(checked.entry.profile.provider);
                    void app.sharing.lookUp(checked.entry.profile.provider);
                  }}
                >
                  Choose {checked.entry.profile.display_name}
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
      <TextInput
        label="Or the provider’s address"
        id="provider"
        value={address}
        onChange={(e) => setAddress(e.currentTarget.value)}
        placeholder="0x…"
        autoComplete="off"
        spellCheck={false}
      />
      <Button type="button" variant="default" onClick={() => void app.sharing.lookUp(address)}>
        Check on the registry
      </Button>
      {provider && (
        <p className={provider.status === 'active' ? 'notice' : 'error'}>
          {provider.status === 'active' && (
            <>
              {state.names[provider.address.toLowerCase()]?.verdict.verified ? (
                <ProviderName address={provider.address} checked={state.names[provider.address.toLowerCase()]} />
              ) : (
                provider.address
              )}{' '}
              is a registered provider.
            </>
          )}
          {provider.status === 'suspended' &&
            `${provider.address} is suspended by the registry: you cannot share with it now.`}
          {provider.status === 'unregistered' &&
            `${provider.address} is not a registered provider. Check the address with the clinic.`}
        </p>
      )}
      <Fieldset legend="2. What" my="sm">
        {ordinary.map(checkbox)}
      </Fieldset>
      <Fieldset legend="Sensitive records (off unless you choose them)" my="sm">
        {SENSITIVE_CATEGORIES.map(checkbox)}
      </Fieldset>
      <NativeSelect
        label="3. Why"
        id="purpose"
        value={purpose}
        onChange={(e) => setPurpose(e.currentTarget.value as Purpose)}
      >
        {Object.entries(PURPOSE_LABELS).map(([code, label]) => (
          <option key={code} value={code}>
            {label}
          </option>
        ))}
      </NativeSelect>
      <Fieldset legend="4. For how long" my="sm">
        {(DURATIONS.some((d) => d.days === days)
          ? DURATIONS
          : [...DURATIONS, { label: `${days} days (as asked)`, days }]
        ).map((d) => (
          <Radio
            key={d.days}
            name="duration"
            checked={days === d.days}
            onChange={() => setDays(d.days)}
            label={d.label}
            my={4}
          />
        ))}
      </Fieldset>
      <Fieldset legend="5. May they add records?" my="sm">
        <Checkbox
          checked={write}
          onChange={(e) => setWrite(e.currentTarget.checked)}
          label={
            <>
              Let them add records to your file in these categories (a test result, a letter)
              {prefill?.write && ' (they asked for this)'}
            </>
          }
          my={4}
        />
      </Fieldset>
      <Fieldset legend="6. Who you are" my="sm">
        <Checkbox
          checked={showWho}
          onChange={(e) => setShowWho(e.currentTarget.checked)}
          label="Let them see your name and date of birth (from your personal details), so they know whose records these are"
          my={4}
        />
      </Fieldset>
      {ready && (
        <div className="summary" aria-live="polite">
          <h2>What you are about to sign</h2>
          {grantSummary(
            namedAddress(provider.address, state.names[provider.address.toLowerCase()]),
            categories,
            until,
            write,
            showWho,
          ).map((line) => (
            <p key={line}>{line}</p>
          ))}
        </div>
      )}
      <Button
        type="button"

        disabled={!ready || Boolean(state.busy)}
        onClick={() =>
          void app.sharing.share(
            {
              provider: provider!.address as Address,
              categories,
              purpose,
              expiresAt: until,
              ...(write ? { write: true } : {}),
            },
            showWho,
          )
        }
      >
        Sign and share
      </Button>
      <Button type="button" variant="default" onClick={() => app.show('sharing')}>
        Cancel
      </Button>
    </section>
  );
}
