import { useState } from "react";
import { toApiError, type ApiError } from "../api/errors";

/** An action that asks first (window.confirm with `question`), then runs, exposing whether it
 * is under way and the error it last ended with (cleared on the next try). Cancelling a run
 * and cancelling a study both work this way. */
export function useConfirmedAction(question: string, action: () => Promise<unknown>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = async () => {
    if (!window.confirm(question)) return;
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error };
}
