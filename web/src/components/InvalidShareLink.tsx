import { useEffect } from "react";
import type { ApiError } from "../api/errors";
import { forgetShare } from "../lib/share";
import { EmptyState } from "./States";

/** A shared view whose link no longer works: said plainly, and the tab forgets the token. */
export function InvalidShareLink({ error, what }: { error: ApiError; what: "run" | "study" }) {
  useEffect(() => forgetShare(), []);
  return (
    <section className="page" data-testid="share-invalid">
      <EmptyState title="This link is no longer valid">
        <p>The link to this {what} was revoked or has expired. Ask the person who shared it for a new one.</p>
        <p className="muted small-print">{error.detail || error.message}</p>
      </EmptyState>
    </section>
  );
}
