import type { FieldErrors } from "../lib/params";
import type { PrecisionForm } from "../lib/precision";
import { PlainField } from "./PlainField";

/** The "Stop at precision" section of a blocks model's form: off (the sample count is run in
 * full) until ticked, then the target's fields. */
export function PrecisionFields({
  form,
  errors,
  onChange,
  onBlur,
}: {
  form: PrecisionForm;
  errors: FieldErrors;
  onChange: (change: Partial<PrecisionForm>) => void;
  onBlur: (field: string) => void;
}) {
  const field = (path: string, key: "relTol" | "absTol" | "confidence" | "minBlocks", label: string, placeholder: string, help: string) => (
    <PlainField
      path={path}
      label={label}
      value={form[key]}
      placeholder={placeholder}
      help={help}
      decimal={key !== "minBlocks"}
      error={errors[path]}
      onChange={(v) => onChange({ [key]: v })}
      onBlur={() => onBlur(path)}
    />
  );
  return (
    <fieldset className="fields precision-fields" data-testid="precision-section">
      <legend className="section-title">Stop at precision</legend>
      <label className="check">
        <input
          type="checkbox"
          checked={form.enabled}
          onChange={(e) => onChange({ enabled: e.target.checked })}
          aria-expanded={form.enabled}
          aria-controls="precision-target"
          data-field="precision.enabled"
        />
        <span>Stop as soon as the estimate is precise enough</span>
      </label>
      {form.enabled ? (
        <div id="precision-target">
          <p className="field-help">
            The run stops at the first blocks (in block order) whose confidence interval is within the tolerance, whatever the number of shards; the
            sample count above is then its budget.
          </p>
          <div className="field-grid">
            {field("precision.rel_tol", "relTol", "Relative tolerance", "e.g. 0.001", "Half-width of the interval relative to |estimate| (0.001: ±0.1 %).")}
            {field("precision.abs_tol", "absTol", "Absolute tolerance", "e.g. 0.01", "Half-width in the output's units. With both, the larger one applies.")}
            {field("precision.confidence", "confidence", "Confidence", "0.95", "Of the interval: 0.99 or 99 %. Default 95 %.")}
            {field("precision.min_blocks", "minBlocks", "Pilot blocks", "10", "Blocks drawn before the rule is first checked. Default 10.")}
          </div>
          <label className="check">
            <input type="checkbox" checked={form.twoStage} onChange={(e) => onChange({ twoStage: e.target.checked })} aria-describedby="precision-two-stage-help" data-field="precision.two_stage" />
            <span>Two-stage</span>
          </label>
          <div id="precision-two-stage-help" className="field-help">
            Two-stage: the pilot sizes the run and fresh blocks give an interval without optional-stopping bias. Sequential (unticked): stops as soon as the
            interval is narrow enough.
          </div>
        </div>
      ) : null}
    </fieldset>
  );
}
