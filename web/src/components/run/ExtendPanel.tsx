import { useSetAtom } from "jotai";
import { useState, type FormEvent } from "react";
import type { Job } from "../../gen/simlab/v1/simulation_pb";
import { toApiError, type ApiError } from "../../api/errors";
import { extendFormOf, validateExtend, type ExtendForm } from "../../lib/extend";
import { formatCount } from "../../lib/format";
import { newRequestId } from "../../lib/requestId";
import type { FieldErrors } from "../../lib/params";
import { extendJobAtom } from "../../state/job";
import { locationAtom } from "../../state/router";
import { PlainField } from "../PlainField";
import { ErrorState } from "../States";

/** "Add samples" on a finished blocks run: a new budget and optionally a tighter tolerance;
 * the new run reuses this run's blocks and computes only the missing ones. */
export function ExtendPanel({ job, onClose }: { job: Job; onClose: () => void }) {
  const extend = useSetAtom(extendJobAtom);
  const navigate = useSetAtom(locationAtom);
  const [form, setForm] = useState<ExtendForm>(() => extendFormOf(job));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  // One key per dialog: a retry after a lost answer does not start a second run.
  const [requestId] = useState(newRequestId);
  const budget = job.progress?.samplesTotal ?? 0n;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const v = validateExtend(job, form, requestId);
    if (!v.ok) {
      setErrors(v.errors);
      return;
    }
    setBusy(true);
    setFailure(null);
    try {
      const res = await extend(v.value);
      if (res.job) {
        onClose();
        navigate(`/runs/${encodeURIComponent(res.job.jobId)}`);
      }
    } catch (err) {
      const apiError = toApiError(err);
      if (apiError.field && ["samples", "precision.rel_tol", "precision.abs_tol"].includes(apiError.field)) setErrors({ [apiError.field]: apiError.detail });
      else setFailure(apiError);
    } finally {
      setBusy(false);
    }
  };
  const edit = (change: Partial<ExtendForm>) => {
    setForm({ ...form, ...change });
    setErrors({});
  };

  return (
    <form className="card extend-card" aria-labelledby="extend-title" data-testid="extend-panel" onSubmit={onSubmit} noValidate>
      <div className="card-head">
        <div>
          <h2 id="extend-title">Add samples</h2>
          <p className="muted">
            A new run that reuses this run&apos;s blocks and computes only the missing ones; its result equals a fresh run&apos;s with the same seed.
          </p>
        </div>
        <button type="button" className="btn btn-ghost" onClick={onClose} aria-label="Close Add samples">
          ✕
        </button>
      </div>
      <div className="field-grid">
        <PlainField
          path="samples"
          label="New sample budget"
          value={form.samples}
          placeholder={budget > 0n ? `now ${formatCount(budget)}` : "e.g. 4e7"}
          help="The sample count of the new run (with a precision target: the most it may draw). Empty keeps this run's."
          error={errors["samples"]}
          onChange={(samples) => edit({ samples })}
          onBlur={() => {}}
        />
        <div />
        <PlainField
          path="precision.rel_tol"
          label="Relative tolerance"
          value={form.relTol}
          placeholder="none"
          help="Optional: a tighter target than this run's."
          decimal
          error={errors["precision.rel_tol"]}
          onChange={(relTol) => edit({ relTol })}
          onBlur={() => {}}
        />
        <PlainField
          path="precision.abs_tol"
          label="Absolute tolerance"
          value={form.absTol}
          placeholder="none"
          help="In the output's units."
          decimal
          error={errors["precision.abs_tol"]}
          onChange={(absTol) => edit({ absTol })}
          onBlur={() => {}}
        />
      </div>
      {failure ? <ErrorState title="Could not add samples" error={failure} /> : null}
      <div className="form-actions">
        <button type="button" className="btn btn-ghost" onClick={onClose}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="extend-submit">
          {busy ? "Starting…" : "Add samples"}
        </button>
      </div>
    </form>
  );
}
