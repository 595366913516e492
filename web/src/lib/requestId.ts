/** A fresh idempotency key for a submission (SubmitJob, ExtendJob). */
export function newRequestId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `r-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}
