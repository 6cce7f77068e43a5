import { Button, Checkbox, Fieldset, TextInput } from '@mantine/core';
import type { EmergencyContact } from '@medkey/client';
import { useState } from 'react';
import { usePatientApp } from '../usePatientApp.ts';
import { ownBirthDate, ownName } from '../services/timeline.ts';

const NO_CONTACT: EmergencyContact = { name: '', relationship: '', phone: '' };

/** The emergency card: her summary built here, reviewed, then a link and QR code to print. */
export function EmergencyCardScreen() {
  const [state, app] = usePatientApp();
  // Filled in from her own Patient record, where she has one; she can change either.
  const [name, setName] = useState(() => ownName(state.records) ?? '');
  const [birthDate, setBirthDate] = useState(() => ownBirthDate(state.records) ?? '');
  const [bloodGroup, setBloodGroup] = useState('');
  const [contacts, setContacts] = useState<EmergencyContact[]>([{ ...NO_CONTACT }]);
  const [passcode, setPasscode] = useState('');
  const [showBlood, setShowBlood] = useState(true);
  const [showAllergies, setShowAllergies] = useState(true);
  const setContact = (i: number, patch: Partial<EmergencyContact>) =>
    setContacts((now) => now.map((c, j) => (j === i ? { ...c, ...patch } : c)));
  return (
    <section aria-labelledby="card-title">
      <h1 id="card-title">Emergency card</h1>
      <Button type="button" variant="default" onClick={() => app.show('sharing')}>
        Back to sharing
      </Button>
      <p>
        A card with a QR code that any doctor can scan in an emergency, even one who has never heard of Medkey: it opens
        a summary of your allergies, medicines, problems, vaccinations and blood group, with the people to call. You see
        each time it is opened, and you can stop it and make a new one.
      </p>
      {!state.cardDraft && !state.card && (
        <form
          aria-labelledby="card-form-title"
          onSubmit={(e) => {
            e.preventDefault();
            app.links.draftCard({
              name,
              birthDate: birthDate || undefined,
              bloodGroup: bloodGroup || undefined,
              contacts: contacts.filter((c) => c.name || c.phone),
            });
          }}
        >
          <h2 id="card-form-title">What the card says</h2>
          <TextInput
            label="Your name"
            id="card-name"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            autoComplete="name"
          />
          <TextInput
            label="Date of birth (optional)"
            id="card-birth"
            type="date"
            value={birthDate}
            onChange={(e) => setBirthDate(e.currentTarget.value)}
          />
          <TextInput
            label="Blood group (optional; taken from your records if one says it)"
            id="card-blood"
            value={bloodGroup}
            onChange={(e) => setBloodGroup(e.currentTarget.value)}
            placeholder="O negative"
          />
          {contacts.map((contact, i) => (
            <Fieldset key={i} legend={<>Emergency contact {i + 1}</>} my="sm">
              <TextInput
                label="Name"
                id={`contact-name-${i}`}
                value={contact.name}
                onChange={(e) => setContact(i, { name: e.currentTarget.value })}
              />
              <TextInput
                label="Who they are to you"
                id={`contact-relation-${i}`}
                value={contact.relationship}
                onChange={(e) => setContact(i, { relationship: e.currentTarget.value })}
                placeholder="sister"
              />
              <TextInput
                label="Phone"
                id={`contact-phone-${i}`}
                type="tel"
                value={contact.phone}
                onChange={(e) => setContact(i, { phone: e.currentTarget.value })}
              />
            </Fieldset>
          ))}
          {contacts.length < 3 && (
            <Button type="button" variant="default" onClick={() => setContacts((now) => [...now, { ...NO_CONTACT }])}>
              Add another contact
            </Button>
          )}{' '}
          <Button type="submit">Review what the card shows</Button>
        </form>
      )}
      {state.cardDraft && (
        <form
          aria-labelledby="card-review-title"
          onSubmit={(e) => {
            e.preventDefault();
            void app.links.makeCard(passcode, { bloodGroup: showBlood, allergies: showAllergies });
          }}
        >
          <h2 id="card-review-title">Check your summary</h2>
          <p>
            On the card: <strong>{state.cardDraft.header.name}</strong>
            {state.cardDraft.header.bloodGroup ? ` · blood group ${state.cardDraft.header.bloodGroup}` : ''}
            {state.cardDraft.header.allergies.length
              ? ` · allergies: ${state.cardDraft.header.allergies.join(', ')}`
              : ' · no allergies recorded'}
          </p>
          {state.cardDraft.sections.map((section) => (
            <div key={section.title}>
              <h3>{section.title}</h3>
              {section.items.length ? (
                <ul>
                  {section.items.map((item, i) => (
                    <li key={i}>{item}</li>
                  ))}
                </ul>
              ) : (
                <p className="hint">None in your records.</p>
              )}
            </div>
          ))}
          <Fieldset legend="On the face of the card, for anyone who sees it" my="sm">
            <Checkbox
              checked={showBlood}
              onChange={(e) => setShowBlood(e.currentTarget.checked)}
              label="My blood group"
              my={4}
            />
            <Checkbox
              checked={showAllergies}
              onChange={(e) => setShowAllergies(e.currentTarget.checked)}
              label="My allergies"
              my={4}
            />
          </Fieldset>
          <TextInput
            label="Passcode (optional: without one, whoever scans the card can read it, which is what an emergency needs)"
            id="card-passcode"
            value={passcode}
            onChange={(e) => setPasscode(e.currentTarget.value)}
            autoComplete="off"
          />
          <p className="hint">
            Making the card encrypts this summary in this browser and stores only the encrypted copy with Medkey. Anyone
            holding the card can read the summary until you stop it. This does not change who can read your other
            records.
          </p>
          <Button type="submit" disabled={Boolean(state.busy)}>
            Make my emergency card
          </Button>{' '}
          <Button type="button" variant="default" onClick={() => app.show('card')}>
            Change something
          </Button>
        </form>
      )}
      {state.card && (
        <section aria-labelledby="card-ready-title" className="emergency-card">
          <h2 id="card-ready-title">Medical emergency: scan for my health summary</h2>
          <p>
            <strong>{state.card.header.name}</strong>
            {state.card.header.bloodGroup && <> · Blood group {state.card.header.bloodGroup}</>}
          </p>
          <p>
            {state.card.header.allergies.length
              ? `Allergies: ${state.card.header.allergies.join(', ')}`
              : 'No allergies recorded'}
          </p>
          <img src={state.card.qr} alt="QR code of the emergency card" width={320} height={320} />
          {state.card.passcode && <p>Ask me or my contacts for the passcode.</p>}
          <Button type="button" variant="default" onClick={() => window.print()}>
            Print the card
          </Button>{' '}
          <Button component="a" variant="default" href={state.card.lockScreen} download="medkey-emergency-card.png">
            Save as a phone lock-screen picture
          </Button>
          <p className="hint">To stop this card, use “Stop this link” on the page of your links.</p>
        </section>
      )}
    </section>
  );
}
