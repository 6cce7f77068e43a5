import { Button, TextInput } from '@mantine/core';
import { Status } from '@medkey/app-shell';
import {
  ErrorBoundary,
  ResourceView,
  asResource,
  formatDate,
  PatientPhoto,
  photoOf,
  obj,
  objs,
  patientName,
  str,
  titleOf,
  conceptText,
  humanName,
  type Resource,
} from '@medkey/fhir-display';
import { useMemo, useState, useSyncExternalStore } from 'react';
import { ViewerApp, callable } from '../services/viewer.ts';

/** Who the records are about, first: name, birth date, and people to call (a tap on a phone). */
function WhoItIs({ patient }: { patient: Resource }) {
  const born = str(patient.birthDate);
  const contacts = objs(patient.contact);
  return (
    <section className="who" aria-label="Who these records are about">
      <PatientPhoto src={photoOf(patient)} name={patientName(patient)} />
      <h2>{patientName(patient) ?? 'Name not given'}</h2>
      {born && <p>Born {Number.isNaN(new Date(born).getTime()) ? born : formatDate(new Date(born))}</p>}
      {contacts.length > 0 && (
        <ul aria-label="People to contact">
          {contacts.map((contact, i) => {
            const phone = objs(contact.telecom).find((t) => str(t.system) === 'phone' || !str(t.system));
            const number = callable(str(phone?.value));
            const who = [conceptText(objs(contact.relationship)[0]), humanName(obj(contact.name))]
              .filter(Boolean)
              .join(': ');
            return (
              <li key={i}>
                {who || 'Contact'}
                {number ? (
                  <>
                    {' '}
                    <a href={`tel:${number}`}>Call {str(phone?.value)}</a>
                  </>
                ) : (
                  str(phone?.value) && ` ${str(phone?.value)}`
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** Opens a SMART Health Link someone was given: no account, no wallet, nothing kept. */
export function ViewerScreen() {
  const app = useMemo(() => new ViewerApp(window.location.hash, window.location.origin), []);
  const state = useSyncExternalStore(app.subscribe, app.getState);
  const [recipient, setRecipient] = useState('');
  const [passcode, setPasscode] = useState('');
  return (
    <>
      <header>
        <span className="brand">Medkey · shared health records</span>
      </header>
      <main>
        <ErrorBoundary
          fallback={
            <p role="alert">
              These records could not be shown. Ask the person who shared them to check the link, or open it again.
            </p>
          }
        >
          <Status state={state} />
          {state.phase === 'broken' && (
            <p>Ask the person who shared it for the link again, and open it exactly as they sent it.</p>
          )}
          {state.phase === 'ask' && state.payload && (
            <form
              aria-labelledby="viewer-title"
              onSubmit={(e) => {
                e.preventDefault();
                void app.open(recipient, passcode);
              }}
            >
              <h1 id="viewer-title">
                Someone shared health records with you{state.payload.label ? `: “${state.payload.label}”` : ''}
              </h1>
              <p>
                They are decrypted here, in this browser, and kept nowhere. The person who shared them sees that you
                opened them, with the name you give
                {app.isEmergencyCard ? ' (in an emergency you may open it without one)' : ''}.
                {state.payload.exp ? ` The link works until ${formatDate(new Date(state.payload.exp * 1000))}.` : ''}
              </p>
              <TextInput
                label={<>Your name (or your practice’s){app.isEmergencyCard ? ', if you can' : ''}</>}
                id="viewer-recipient"
                value={recipient}
                onChange={(e) => setRecipient(e.currentTarget.value)}
                autoComplete="name"
              />
              {app.needsPasscode && (
                <>
                  <TextInput
                    label="Passcode (the person who shared the link told it to you)"
                    id="viewer-passcode"
                    value={passcode}
                    onChange={(e) => setPasscode(e.currentTarget.value)}
                    autoComplete="off"
                  />
                </>
              )}
              <Button type="submit" disabled={Boolean(state.busy)}>
                {app.isEmergencyCard ? 'Open the emergency card' : 'Open the records'}
              </Button>
            </form>
          )}
          {state.phase === 'shown' && (
            <section aria-labelledby="shared-title">
              <h1 id="shared-title">Shared records{state.payload?.label ? `: “${state.payload.label}”` : ''}</h1>
              {state.resources.length === 0 && <p>The link holds no records.</p>}
              {state.resources
                .filter((r) => asResource(r)?.resourceType === 'Patient')
                .slice(0, 1)
                .map((patient, i) => (
                  <ErrorBoundary key={i} fallback={null}>
                    <WhoItIs patient={patient} />
                  </ErrorBoundary>
                ))}
              {state.resources.map((resource, i) => (
                <article
                  key={i}
                  aria-label={asResource(resource) ? titleOf(resource) : 'A record that could not be shown'}
                >
                  <ResourceView resource={resource} />
                </article>
              ))}
            </section>
          )}
        </ErrorBoundary>
      </main>
    </>
  );
}
