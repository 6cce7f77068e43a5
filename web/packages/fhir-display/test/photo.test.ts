// Her photo shows only when her own record carries it inline, as a plain image of sane size:
// never fetched from a URL (that would tell another server who is reading whose record).
import { describe, expect, it } from 'vitest';
import { photoOf } from '../src/PatientPhoto.tsx';

const PIXEL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const patient = (photo: unknown[]) => ({ resourceType: 'Patient', photo });

describe('photoOf', () => {
  it('gives an inline image as a data URL', () => {
    expect(photoOf(patient([{ contentType: 'image/png', data: PIXEL }]))).toBe(`data:image/png;base64,${PIXEL}`);
  });

  it('skips a URL, another type, bad base64 or an oversized photo, and takes the next one that is fine', () => {
    for (const photo of [
      { contentType: 'image/png', url: 'https://tracker.example/me.png' },
      { contentType: 'image/svg+xml', data: PIXEL },
      { contentType: 'image/png', data: 'not base64!' },
      { contentType: 'image/png', data: 'A'.repeat(800_000) },
      { contentType: { odd: true }, data: PIXEL },
    ])
      expect(photoOf(patient([photo]))).toBeUndefined();
    expect(photoOf(patient([{ url: 'https://x.example/a.png' }, { contentType: 'image/jpeg', data: PIXEL }]))).toBe(
      `data:image/jpeg;base64,${PIXEL}`,
    );
    expect(
      photoOf({ resourceType: 'Practitioner', photo: [{ contentType: 'image/png', data: PIXEL }] }),
    ).toBeUndefined();
  });
});
