// The archive's own failure mode; the rest are the engine's and the object store's (StorageFullError, BucketNotFoundError).
import { SluiceError } from '../../errors.js';

/** Another run archives this stream now (its lease moved on): this one stops. Not retriable. */
export class ArchiveLeaseLostError extends SluiceError {
  readonly code = 'ArchiveLeaseLost';
  constructor(readonly stream: string, options?: { cause?: unknown }) {
    super(`archive of '${stream}': another run took over (its lease moved on); stopping`, options);
  }
}
