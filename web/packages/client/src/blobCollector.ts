// Gathers many small parts (ciphertext chunks, base64 text) into one Blob. Every 16 MiB the
// pending parts become a Blob of their own, which the browser may keep outside the JS heap
// (on disk for large ones), so a 100 MB file never sits in JavaScript memory all at once.

const FLUSH_BYTES = 16 * 1024 * 1024;

export class BlobCollector {
  private blobs: Blob[] = [];
  private pending: BlobPart[] = [];
  private pendingBytes = 0;

  push(part: Uint8Array | string | Blob): void {
    this.pending.push(part as BlobPart);
    this.pendingBytes += typeof part === 'string' ? part.length : part instanceof Blob ? part.size : part.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  finish(type: string): Blob {
    this.flush();
    const blob = new Blob(this.blobs, { type });
    this.blobs = [];
    return blob;
  }

  private flush(): void {
    if (this.pending.length > 0) this.blobs.push(new Blob(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }
}
