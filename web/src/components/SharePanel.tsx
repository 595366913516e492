import { useAtomValue, useSetAtom } from "jotai";
import { useRef, useState } from "react";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { ShareLink } from "../gen/simlab/v1/simulation_pb";
import { toApiError, type ApiError } from "../api/errors";
import { formatTime, toDate } from "../lib/format";
import { SHARE_EXPIRY_CHOICES, shareUrl, type ShareTarget } from "../lib/share";
import { createShareLinkAtom, revokeShareLinkAtom, shareLinksAtom } from "../state/share";
import { ErrorState, Spinner } from "./States";

type LinkState = "active" | "expired" | "revoked";

export function linkState(link: ShareLink, now: number = Date.now()): LinkState {
  if (link.revokedAt) return "revoked";
  const exp = toDate(link.expiresAt)?.getTime();
  return exp !== undefined && exp <= now ? "expired" : "active";
}

const STATE_BADGE: Record<LinkState, [string, string]> = {
  active: ["badge-ok", "Active"],
  expired: ["badge-muted", "Expired"],
  revoked: ["badge-bad", "Revoked"],
};

async function copyText(text: string, input: HTMLInputElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard permission (or an insecure origin): select it for Ctrl+C.
    input?.focus();
    input?.select();
    return false;
  }
}

const WHAT: Record<ShareTarget["kind"], { noun: string; sees: string }> = {
  run: { noun: "run", sees: "this run (progress, results, files and logs)" },
  study: { noun: "study", sees: "this study and each of its points (charts, results, files and logs)" },
};

/** The owner's Share dialog of a run or a study: create a link, copy it, see and revoke the
 * links. */
export function SharePanel({ target, onClose }: { target: ShareTarget; onClose: () => void }) {
  const links = useAtomValue(shareLinksAtom(target));
  const create = useSetAtom(createShareLinkAtom);
  const revoke = useSetAtom(revokeShareLinkAtom);
  const [ttl, setTtl] = useState(SHARE_EXPIRY_CHOICES[1]!.seconds);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [created, setCreated] = useState<{ url: string; linkId: string; expiresAt?: Timestamp } | null>(null);
  const [copied, setCopied] = useState<"yes" | "select" | null>(null);
  const urlInput = useRef<HTMLInputElement>(null);

  const onCreate = async () => {
    setBusy(true);
    setError(null);
    setCopied(null);
    try {
      const res = await create(target, ttl);
      setCreated({
        url: shareUrl(window.location.origin, target, res.token),
        linkId: res.link?.linkId ?? "",
        expiresAt: res.link?.expiresAt,
      });
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  const onCopy = async () => {
    if (!created) return;
    setCopied((await copyText(created.url, urlInput.current)) ? "yes" : "select");
  };

  const onRevoke = async (link: ShareLink) => {
    if (!window.confirm("Revoke this link? Anyone who has it loses access at once.")) return;
    setError(null);
    try {
      await revoke(target, link.linkId);
      if (created?.linkId === link.linkId) setCreated(null);
    } catch (err) {
      setError(toApiError(err));
    }
  };

  return (
    <section className="card share-card" aria-labelledby="share-title" data-testid="share-panel">
      <div className="card-head">
        <div>
          <h2 id="share-title">Share this {WHAT[target.kind].noun}</h2>
          <p className="muted">Anyone with the link can see {WHAT[target.kind].sees} without an account, but cannot change anything.</p>
        </div>
        <button type="button" className="btn btn-ghost" onClick={onClose} aria-label="Close sharing">
          Close
        </button>
      </div>
      <div className="share-create">
        <label className="field share-expiry">
          <span className="field-label">Link expires after</span>
          <select className="input" value={ttl} onChange={(e) => setTtl(Number(e.target.value))} data-testid="share-expiry">
            {SHARE_EXPIRY_CHOICES.map((c) => (
              <option key={c.seconds} value={c.seconds}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="btn btn-primary" onClick={onCreate} disabled={busy} data-testid="share-create">
          {busy ? "Creating…" : "Create link"}
        </button>
      </div>
      {error ? <ErrorState title="Sharing failed" error={error} /> : null}
      {created ? (
        <div className="share-new" data-testid="share-new">
          <label className="field">
            <span className="field-label">New link: copy it now, it is shown only once</span>
            <div className="row">
              <input
                ref={urlInput}
                className="input mono"
                readOnly
                value={created.url}
                onFocus={(e) => e.currentTarget.select()}
                data-testid="share-url"
                aria-label="Share link"
              />
              <button type="button" className="btn btn-secondary" onClick={onCopy} data-testid="share-copy">
                {copied === "yes" ? "Copied" : "Copy"}
              </button>
            </div>
          </label>
          <p className="hint" data-testid="share-new-expiry">
            {created.expiresAt ? `Expires ${formatTime(created.expiresAt)}.` : "Never expires: revoke it when it is no longer needed."}
          </p>
          {copied === "select" ? <p className="hint">Press Ctrl+C (⌘C) to copy the selected link.</p> : null}
        </div>
      ) : null}
      <div>
        <h3 className="section-title">Links of this {WHAT[target.kind].noun}</h3>
        {links === null ? (
          <Spinner label="Loading links" />
        ) : !links.ok ? (
          <p className="muted">Links unavailable: {links.error.message}</p>
        ) : links.links.length === 0 ? (
          <p className="muted" data-testid="share-none">
            No links yet.
          </p>
        ) : (
          <table className="table share-links" data-testid="share-links">
            <thead>
              <tr>
                <th scope="col">Link</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {links.links.map((l) => {
                const state = linkState(l);
                const [tone, label] = STATE_BADGE[state];
                return (
                  <tr key={l.linkId} data-link-id={l.linkId} data-link-state={state} className={created?.linkId === l.linkId ? "selected" : ""}>
                    <td className="mono" title={l.linkId}>
                      {l.linkId.slice(0, 8)}
                    </td>
                    <td>{formatTime(l.createdAt)}</td>
                    <td>{l.expiresAt ? formatTime(l.expiresAt) : "Never"}</td>
                    <td>
                      <span className={`badge ${tone}`}>{label}</span>
                      {state === "revoked" ? <span className="muted when">{formatTime(l.revokedAt)}</span> : null}
                    </td>
                    <td className="num">
                      {state === "active" ? (
                        <button type="button" className="btn btn-danger btn-sm" onClick={() => void onRevoke(l)} data-testid="share-revoke">
                          Revoke
                        </button>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
