import type { Parameter } from "../gen/simlab/v1/simulation_pb";
import { ParameterType } from "../gen/simlab/v1/simulation_pb";
import { defaultOf, fmt, type FieldValue } from "../lib/params";

export function boundsHint(p: Parameter): string {
  const parts: string[] = [];
  if (p.minimum !== undefined) parts.push(`${p.exclusiveMinimum ? ">" : "≥"} ${fmt(p.minimum)}`);
  if (p.maximum !== undefined) parts.push(`${p.exclusiveMaximum ? "<" : "≤"} ${fmt(p.maximum)}`);
  return parts.join(", ");
}

export function fieldId(path: string): string {
  return `f-${path.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}

export function ParamField({
  param,
  value,
  error,
  onChange,
  onBlur,
}: {
  param: Parameter;
  value: FieldValue | undefined;
  error?: string;
  onChange: (v: FieldValue) => void;
  onBlur: () => void;
}) {
  const path = `parameters.${param.name}`;
  const id = fieldId(path);
  const helpId = `${id}-help`;
  const errId = `${id}-error`;
  const describedBy = [param.help || boundsHint(param) ? helpId : "", error ? errId : ""].filter(Boolean).join(" ") || undefined;
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

  const hint = boundsHint(param);
  return (
    <div className={`field ${error ? "field-error" : ""}`} data-testid={`field-${param.name}`}>
      {param.type !== ParameterType.BOOL ? (
        <label className="field-label" htmlFor={id}>
          {label}
          {param.isSampleCount ? <span className="tag">samples</span> : null}
        </label>
      ) : null}
      {control}
      {param.help || hint ? (
        <div id={helpId} className="field-help">
          {param.help}
          {param.help && hint ? " · " : ""}
          {hint ? <span className="mono">{hint}</span> : null}
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
