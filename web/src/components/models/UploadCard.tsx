import { useAtomValue, useSetAtom } from "jotai";
import { useEffect, useRef, useState, type DragEvent } from "react";
import { lineRange, modelRef } from "../../lib/models";
import { editUploadAtom, pushModelAtom, pushStateAtom, uploadDraftAtom, uploadErrorsAtom, uploadPathAtom } from "../../state/upload";
import { Link } from "../Link";
import { CodeListing } from "./CodeListing";
import { SchemaTables } from "./SchemaTables";

/** Push a model: drop or paste a .py file, name it, register it, see what was inferred. */
export function UploadCard() {
  const draft = useAtomValue(uploadDraftAtom);
  const path = useAtomValue(uploadPathAtom);
  const errors = useAtomValue(uploadErrorsAtom);
  const state = useAtomValue(pushStateAtom);
  const edit = useSetAtom(editUploadAtom);
  const push = useSetAtom(pushModelAtom);
  const codeRef = useRef<HTMLTextAreaElement>(null);
  const [dragging, setDragging] = useState(false);
  const [fileError, setFileError] = useState<string | null>(null);

  const readFile = async (file: File | undefined) => {
    if (!file) return;
    if (!/\.py$/i.test(file.name)) {
      setFileError(`${file.name} is not a Python file: drop a .py file.`);
      return;
    }
    try {
      const code = await file.text();
      setFileError(null);
      edit({ type: "file", name: file.name, code });
    } catch (err) {
      setFileError(`Could not read ${file.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void readFile(e.dataTransfer.files[0]);
  };
  const showLine = (line: number) => {
    const area = codeRef.current;
    if (!area) return;
    const [start, end] = lineRange(area.value, line);
    area.focus();
    area.setSelectionRange(start, end);
  };
  const pushing = state.status === "pushing";

  return (
    <form
      className={`card upload-card ${dragging ? "dragging" : ""}`}
      onSubmit={(e) => {
        e.preventDefault();
        void push();
      }}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
      noValidate
      aria-labelledby="upload-title"
      data-testid="upload"
    >
      <div className="card-head">
        <h2 id="upload-title">Push a model</h2>
        <span className="muted">
          A file with <code>simulate(rng, n, *, …)</code> or a <code>MODEL</code> runs in blocks; any other script runs as <code>python {path}</code>.
        </span>
      </div>
      <div className={`field ${errors.code ? "field-error" : ""}`}>
        <label className="field-label" htmlFor="upload-code">
          Code <span className="mono muted">{path}</span>
        </label>
        <textarea
          id="upload-code"
          ref={codeRef}
          className="input code-input mono"
          rows={14}
          spellCheck={false}
          value={draft.code}
          placeholder="Paste a .py file here, or drop one on this card."
          onChange={(e) => edit({ type: "code", value: e.target.value })}
          aria-invalid={errors.code ? true : undefined}
          aria-describedby="upload-code-help"
          data-testid="upload-code"
        />
        <div id="upload-code-help" className="field-help">
          Drop a <code>.py</code> file on this card or{" "}
          <label className="link-btn file-pick">
            choose one
            <input type="file" accept=".py,text/x-python" className="sr-only" onChange={(e) => void readFile(e.target.files?.[0])} data-testid="upload-file" />
          </label>
          . One file; for a package use <code>simlab models push</code>.
        </div>
        {fileError || errors.code ? (
          <div className="field-msg" role="alert">
            {fileError ?? errors.code}
          </div>
        ) : null}
      </div>
      <div className="field-grid">
        <div className={`field ${errors.name ? "field-error" : ""}`}>
          <label className="field-label" htmlFor="upload-name">
            Name
          </label>
          <input
            id="upload-name"
            className="input mono"
            autoComplete="off"
            spellCheck={false}
            value={draft.name}
            placeholder="my_model"
            onChange={(e) => edit({ type: "name", value: e.target.value })}
            aria-invalid={errors.name ? true : undefined}
            aria-describedby={errors.name ? "upload-name-error" : "upload-name-help"}
            data-testid="upload-name"
          />
          <div id="upload-name-help" className="field-help">
            Letters, digits, _ and -. The first to push a name owns it; each push of new code adds a version.
          </div>
          {errors.name ? (
            <div id="upload-name-error" className="field-msg" role="alert" data-testid="error-name">
              {errors.name}
            </div>
          ) : null}
        </div>
        <div className="field">
          <span className="field-label">Visibility</span>
          <label className="check">
            <input type="checkbox" checked={draft.public} onChange={(e) => edit({ type: "public", value: e.target.checked })} data-testid="upload-public" />
            <span>Public</span>
          </label>
          <div className="field-help">Public models are listed to everyone and anyone can run them; private ones only to you.</div>
        </div>
      </div>
      <div className="form-actions">
        <button type="button" className="btn btn-ghost" onClick={() => edit({ type: "clear" })} disabled={pushing}>
          Clear
        </button>
        <button type="submit" className="btn btn-primary" disabled={pushing} data-testid="upload-submit">
          {pushing ? "Registering…" : "Push and register"}
        </button>
      </div>
      <PushStatus onShowLine={showLine} />
    </form>
  );
}

function PushStatus({ onShowLine }: { onShowLine: (line: number) => void }) {
  const state = useAtomValue(pushStateAtom);
  const elapsed = useElapsed(state.status === "pushing" ? state.since : null);
  switch (state.status) {
    case "idle":
      return null;
    case "pushing":
      return (
        <div className="notice push-progress" role="status" data-testid="push-progress">
          <span className="spinner small" aria-hidden="true" />
          <span>
            Registering <strong className="mono">{state.name}</strong>: a sandboxed worker imports the code, infers its parameters and checks that it
            is deterministic{elapsed >= 1 ? ` · ${elapsed} s` : ""}…
          </span>
        </div>
      );
    case "done": {
      const m = state.model;
      const ref = modelRef(m);
      return (
        <div className="push-result" data-testid="push-result">
          <div className="push-result-head" role="status">
            <strong className="mono" data-testid="push-ref">
              {ref}
            </strong>
            {state.created ? (
              <span className="badge badge-ok" data-testid="push-created">
                New version
              </span>
            ) : (
              <span className="badge badge-neutral" data-testid="push-unchanged">
                Unchanged: the code is the latest version's
              </span>
            )}
            {m.reproducible ? <span className="badge badge-info">Reproducible</span> : null}
            <Link className="btn btn-primary btn-sm" to={`/new?model=${encodeURIComponent(ref)}`} data-testid="push-run">
              Run
            </Link>
          </div>
          {m.warnings.length ? (
            <ul className="warnings" data-testid="push-warnings">
              {m.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          ) : null}
          <SchemaTables model={m} />
        </div>
      );
    }
    case "failed":
      return (
        <div className="push-failed">
          <div className="error-state" role="alert" data-testid="push-error">
            <strong>The code was not registered</strong>
            <p className="mono push-message">{state.message}</p>
            {state.line !== undefined ? (
              <button type="button" className="btn btn-secondary btn-sm" onClick={() => onShowLine(state.line!)}>
                Select line {state.line} in the code
              </button>
            ) : null}
          </div>
          {state.line !== undefined ? <CodeListing code={state.code} line={state.line} path={state.path} /> : null}
        </div>
      );
  }
}

/** Whole seconds since `since` (0 when null), ticking. */
function useElapsed(since: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (since === null) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [since]);
  return since === null ? 0 : Math.max(0, Math.floor((now - since) / 1000));
}
