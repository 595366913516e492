import { useState } from "react";
import { shortSha } from "../lib/models";

/** A code sha256, short, with the whole of it in the title and on the clipboard. */
export function Sha({ sha, testId }: { sha: string; testId?: string }) {
  const [copied, setCopied] = useState(false);
  if (!sha) return <span className="muted">—</span>;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(sha);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      /* no clipboard permission: the title still shows it whole */
    }
  };
  return (
    <span className="sha">
      <code className="mono" title={sha} data-testid={testId} data-sha={sha}>
        {shortSha(sha)}
      </code>
      <button type="button" className="link-btn" onClick={copy} aria-label="Copy the whole sha256">
        {copied ? "Copied" : "Copy"}
      </button>
    </span>
  );
}
