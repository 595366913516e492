import { useAtomValue } from "jotai";
import { runJobAtom } from "../../state/run";

/** Why a failed run failed: its message, traceback and the worker's last lines. */
export function FailureCard() {
  const e = useAtomValue(runJobAtom)?.error;
  return (
    <div className="card failure" role="alert" data-testid="failure">
      <h2>Run failed</h2>
      <p className="failure-msg">{e?.message || "The run failed without a message."}</p>
      {e?.source ? <p className="muted">Source: {e.source}</p> : null}
      {e?.traceback ? (
        <details open>
          <summary>Traceback</summary>
          <pre className="code" data-testid="traceback">{e.traceback}</pre>
        </details>
      ) : null}
      {e?.logTail ? (
        <details>
          <summary>Worker log (last lines)</summary>
          <pre className="code">{e.logTail}</pre>
        </details>
      ) : null}
    </div>
  );
}
