// Her photo, when her Patient record carries one inline (`photo.data`). A photo given only as a
// URL is not shown: loading it would tell another server who is looking at whose record (and
// the pages' CSP refuses outside images anyway).

import { objs, str, type Resource } from './read.ts';

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
/** Base64 characters of the largest photo shown (about 512 KiB). */
const MAX_PHOTO = 700_000;

/** The first inline photo of a Patient record as a `data:` URL, if it is a plain image of sane size. */
export function photoOf(patient: Resource): string | undefined {
  if (patient.resourceType !== 'Patient') return undefined;
  for (const photo of objs(patient.photo)) {
    const type = str(photo.contentType)?.toLowerCase();
    const data = str(photo.data);
    if (!type || !IMAGE_TYPES.includes(type) || !data) continue;
    if (data.length > MAX_PHOTO || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) continue;
    return `data:${type};base64,${data}`;
  }
  return undefined;
}

/** Her photo (see `photoOf`), or nothing. */
export function PatientPhoto({ src, name }: { src: string | undefined; name: string | undefined }) {
  if (!src) return null;
  return <img className="patient-photo" src={src} alt={name ? `Photo of ${name}` : 'Photo of the patient'} />;
}
