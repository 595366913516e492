import type { Parameter } from "../gen/simlab/v1/simulation_pb";
import { ParameterType } from "../gen/simlab/v1/simulation_pb";
import { defaultOf, fmt, type FieldValue } from "../lib/params";

function big(x: number): string {
  return Math.abs(x) >= 10000 ? x.toLocaleString("en-US") : fmt(x);
}

export function boundsHint(p: Parameter): string {
  const lo = p.minimum;
  const hi = p.maximum;
  if (lo !== undefined && hi !== undefined) {
    return `${big(lo)} ${p.exclusiveMinimum ? "<" : "≤"} x ${p.exclusiveMaximum ? "<" : "≤"} ${big(hi)}`;
  }
  if (lo !== undefined) return `${p.exclusiveMinimum ? ">" : "≥"} ${big(lo)}`;
  if (hi !== undefined) return `${p.exclusiveMaximum ? "<" : "≤"} ${big(hi)}`;
  return "";
}

export function fieldId(path: string): string {
  return `f-${path.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}

export function ParamField({
  param,
  value,
  error,
  budget = false,
  onChange,
  onBlur,
}: {
  param: Parameter;
  value: FieldValue | undefined;
  error?: string;
  /** The run stops at a precision target: the sample count is the most it may draw. */
  budget?: boolean;
  onChange: (v: FieldValue) => void;
  onBlur: () => void;
}) {
  const path = `parameters.${param.name}`;
  const id = fieldId(path);
  const helpId = `${id}-help`;
  const errId = `${id}-error`;
  const hint = boundsHint(param);
  const describedBy = [param.help || (budget && param.isSampleCount) ? helpId : "", hint ? `${id}-range` : "", error ? errId : ""].filter(Boolean).join(" ") || undefined;
  const def = defaultOf(param);
  const label = param.label || param.name;

  let control;
  if (param.type === ParameterType.BOOL) {
    control = (
      <label className="check">
        <input
          id={id}
          type="checkbox"
          checked={value === true}
          onChange={(e) => onChange(e.target.checked)}
          onBlur={onBlur}
          aria-describedby={describedBy}
          data-field={path}
        />
        <span>{label}</span>
      </label>
    );
  } else if (param.type === ParameterType.CHOICE) {
    control = (
      <select
        id={id}
        className="input"
        value={typeof value === "string" ? value : ""}
        onChange={(e) => onChange(e.target.value)}
        onBlur={onBlur}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        data-field={path}
      >
        {def === undefined ? <option value="">Choose…</option> : null}
        {param.choices.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    );
  } else {
    control = (
      <div className={`input-group ${param.unit ? "has-unit" : ""}`}>
        <input
          id={id}
          className="input mono"
          type="text"
          inputMode={param.type === ParameterType.INT ? "numeric" : "decimal"}
          autoComplete="off"
          spellCheck={false}
          value={typeof value === "string" ? value : ""}
          placeholder={def !== undefined ? String(def) : "required"}
          onChange={(e) => onChange(e.target.value)}
          onBlur={onBlur}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
          aria-required={def === undefined ? true : undefined}
          data-field={path}
        />
        {param.unit ? <span className="unit">{param.unit}</span> : null}
      </div>
    );
  }

  return (
    <div className={`field ${error ? "field-error" : ""}`} data-testid={`field-${param.name}`}>
      {param.type !== ParameterType.BOOL ? (
        <label className="field-label" htmlFor={id}>
          {label}
          {param.isSampleCount ? (
            <span className="tag" data-testid="sample-tag">
              {budget ? "budget: max samples" : "samples"}
            </span>
          ) : null}
          {hint ? (
            <span id={`${id}-range`} className="range mono" title="Allowed values">
              {hint}
            </span>
          ) : null}
        </label>
      ) : null}
      {control}
      {param.help || (budget && param.isSampleCount) ? (
        <div id={helpId} className="field-help">
          {budget && param.isSampleCount ? "The most the run may draw: it stops earlier once the precision target is met. " : ""}
          {param.help}
        </div>
      ) : null}
      {error ? (
        <div id={errId} className="field-msg" role="alert" data-testid={`error-${path}`}>
          {error}
        </div>
      ) : null}
    </div>
  );
}
