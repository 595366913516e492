import { useAtomValue } from "jotai";
import { runFeedAtom } from "../../state/run";

/** Says so while the live connection of the run shown is down. */
export function ConnectionBanner() {
  const feed = useAtomValue(runFeedAtom);
  if (feed.connection !== "reconnecting") return null;
  return (
    <div className="banner banner-warn" role="status" data-testid="reconnecting">
      <span className="spinner small" aria-hidden="true" />
      <span>
        <strong>Reconnecting…</strong> The live connection dropped
        {feed.error ? ` (${feed.error.detail || feed.error.message})` : ""}. Updates resume where they left off
        {feed.attempts > 1 ? ` · attempt ${feed.attempts}` : ""}.
      </span>
    </div>
  );
}
