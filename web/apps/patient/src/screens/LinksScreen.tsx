import { Button, Checkbox, Fieldset, NativeSelect, TextInput } from '@mantine/core';
import { CATEGORY_LABELS } from '@medkey/app-shell';
import { CATEGORIES, type Category } from '@medkey/client';
import { useState } from 'react';
import { accessWords, linkStateWords, recordsFor } from '../services/linkSharing.ts';
import { SENSITIVE_WARNINGS } from '../services/sharing.ts';
import { usePatientApp } from '../usePatientApp.ts';

/** Sharing records with anyone by a SMART Health Link (and its QR code), and her links with every use. */
/** Stopping a link asks first: whoever holds it can no longer open it, and that cannot be undone. */
function StopLink({ id, label }: { id: string; label: string }) {
  const [state, app] = usePatientApp();
  const [asked, setAsked] = useState(false);
  if (!asked)
    return (
      <Button type="button" variant="default" onClick={() => setAsked(true)}>
        Stop this link
      </Button>
    );
  return (
    <p role="group" aria-label={`Stop ${label}`}>
      Whoever has this link can no longer open it, and it cannot be started again (you can make a new one).{' '}
      <Button type="button" color="red" onClick={() => void app.links.revoke(id)} disabled={Boolean(state.busy)}>
        Stop it
      </Button>{' '}
      <Button type="button" variant="default" onClick={() => setAsked(false)}>
        Keep it
      </Button>
    </p>
  );
}

export function LinksScreen() {
  const [state, app] = usePatientApp();
  const [label, setLabel] = useState('');
  const [categories, setCategories] = useState<Category[]>([]);
  const [passcode, setPasscode] = useState('');
  const [days, setDays] = useState(30);
  const [singleUse, setSingleUse] = useState(false);
  const [followChanges, setFollowChanges] = useState(false);
  const withRecords = CATEGORIES.filter((c) => recordsFor(state.records, [c]).length > 0);
  const chosen = recordsFor(state.records, categories).length;
  const toggle = (c: Category) => setCategories((now) => (now.includes(c) ? now.filter((x) => x !== c) : [...now, c]));
  return (
    <section aria-labelledby="links-title">
      <h1 id="links-title">Share by link or QR code</h1>
      <Button type="button" variant="default" onClick={() => app.show('sharing')}>
        Back to sharing
      </Button>
      <p>
        A link lets anyone who has it read the records you put in it, in any web browser, even if they do not use
        Medkey: a new dentist, a doctor abroad, a school nurse. It works outside the registry’s consent: whoever holds
        the link can open it until it expires or you stop it. Add a passcode and tell it to them separately, so a link
        that is seen by the wrong person is not enough.
      </p>
      <form
        aria-labelledby="new-link-title"
        onSubmit={(e) => {
          e.preventDefault();
          void app.links.create({ label, categories, passcode, days, singleUse, followChanges });
        }}
      >
        <h2 id="new-link-title">A new link</h2>
        <TextInput
          label="Name of the link (only you see it, and whoever opens it)"
          id="link-label"
          value={label}
          maxLength={80}
          onChange={(e) => setLabel(e.currentTarget.value)}
          placeholder="For my new dentist"
        />
        <Fieldset legend="Records to put in it" my="sm">
          {withRecords.length === 0 && <p>You have no records to share yet.</p>}
          {withRecords.map((c) => (
            <Checkbox
              key={c}
              checked={categories.includes(c)}
              onChange={() => toggle(c)}
              label={
                <>
                  {CATEGORY_LABELS[c]}{' '}
                  {SENSITIVE_WARNINGS[c] && <span className="warning"> {SENSITIVE_WARNINGS[c]}</span>}
                </>
              }
              my={4}
            />
          ))}
        </Fieldset>
        <TextInput
          label="Passcode (optional, at least 4 characters)"
          id="link-passcode"
          value={passcode}
          onChange={(e) => setPasscode(e.currentTarget.value)}
          autoComplete="off"
        />
        <NativeSelect
          label="Stops working after"
          id="link-days"
          value={days}
          onChange={(e) => setDays(Number(e.currentTarget.value))}
        >
          <option value={1}>1 day</option>
          <option value={7}>7 days</option>
          <option value={30}>30 days</option>
          <option value={365}>1 year</option>
          <option value={0}>Never (until you stop it)</option>
        </NativeSelect>
        <Checkbox
          checked={singleUse}
          onChange={(e) => setSingleUse(e.currentTarget.checked)}
          label="It works once only"
          my={4}
        />
        <Checkbox
          checked={followChanges}
          onChange={(e) => setFollowChanges(e.currentTarget.checked)}
          label="Keep it up to date: when you add records in these categories, whoever opens the link later sees them too"
          my={4}
        />
        <p className="hint">
          {chosen} record{chosen === 1 ? '' : 's'} will be encrypted in this browser. Medkey stores only the encrypted
          copy; the key is in the link itself and Medkey does not keep it. Each time someone opens the link, you see it
          below, with the name they give.
        </p>
        <Button type="submit" disabled={Boolean(state.busy)}>
          Make the link
        </Button>
      </form>
      {state.newLink && (
        <section aria-labelledby="link-ready-title" className="link-ready">
          <h2 id="link-ready-title">“{state.newLink.label}” is ready</h2>
          <img src={state.newLink.qr} alt="QR code of the link" width={320} height={320} />
          <TextInput
            label="Link to open in a browser"
            id="link-url"
            readOnly
            value={state.newLink.viewerUrl}
            onFocus={(e) => e.currentTarget.select()}
          />
          <Button
            type="button"
            variant="default"
            onClick={() => void navigator.clipboard?.writeText(state.newLink!.viewerUrl)}
          >
            Copy the link
          </Button>{' '}
          <Button type="button" variant="default" onClick={() => window.print()}>
            Print
          </Button>
          <p className="hint">
            Shown once: Medkey keeps no copy of the link or its key. To stop it, use “Stop this link” below.
          </p>
        </section>
      )}
      <h2>Your links</h2>
      {state.shareLinks?.length === 0 && <p>You have not made a link yet.</p>}
      <ul className="grants">
        {state.shareLinks?.map((link) => (
          <li key={link.id}>
            <p>
              <strong>{link.label}</strong>
              {link.purpose === 'emergency' ? ' (emergency card)' : ''}: {linkStateWords(link)}
              {link.has_passcode ? ' · with a passcode' : ''}
              {link.single_use ? ' · works once' : ''}
              {link.long_lived ? ' · kept up to date' : ''}
            </p>
            {link.accesses.length === 0 ? (
              <p className="hint">Nobody has opened it yet.</p>
            ) : (
              <ul aria-label={`Uses of ${link.label}`}>
                {link.accesses.map((a) => (
                  <li key={`${a.at_ms}-${a.recipient}-${a.outcome}`}>{accessWords(a)}</li>
                ))}
              </ul>
            )}
            {link.state === 'active' && <StopLink id={link.id} label={link.label} />}
          </li>
        ))}
      </ul>
    </section>
  );
}
