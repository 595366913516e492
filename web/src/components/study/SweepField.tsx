import { ParameterType, type Parameter } from "../../gen/simlab/v1/simulation_pb";
import type { FieldValue } from "../../lib/params";
import { sweepModes, type AxisErrors, type SweepForm, type SweepMode } from "../../lib/study/spec";
import { boundsHint, fieldId, ParamField } from "../ParamField";

const MODE_LABELS: Record<SweepMode, string> = { fixed: "Fixed", list: "List", range: "Range" };

/**
 * One parameter of the New study form: fixed at a value (the run form's field), a list of
 * values, or a range (start, stop, and for a grid how many points; linear or log). Its
 * inputs are `sweep.<name>.<part>` for tests and the keyboard alike.
 */
export function SweepField({
  param,
  sweep,
  fixedValue,
  fixedError,
  errors,
  grid,
  budget,
  onFixed,
  onSweep,
  onBlur,
}: {
  param: Parameter;
  sweep: SweepForm;
  fixedValue: FieldValue | undefined;
  fixedError?: string;
  errors: AxisErrors;
  /** The design is a grid: a range needs its number of points. */
  grid: boolean;
  /** Each point stops at a precision target: the sample count is a budget. */
  budget: boolean;
  onFixed: (v: FieldValue) => void;
  onSweep: (change: Partial<SweepForm>) => void;
  onBlur: (field: string) => void;
}) {
  const base = `sweep.${param.name}`;
  const label = param.label || param.name;
  const modes = sweepModes(param);
  const blurRow = () => onBlur(base);
  const modePicker = (
    <div className="chips sweep-modes" role="radiogroup" aria-label={`How ${label} varies`}>
      {modes.map((m) => (
        <button
          key={m}
          type="button"
          role="radio"
          aria-checked={sweep.mode === m}
          className={`chip ${sweep.mode === m ? "on" : ""}`}
          onClick={() => onSweep(m === "list" && sweep.values === "" ? { mode: m, values: listSeed(fixedValue, param) } : { mode: m })}
          data-field={`${base}.mode`}
          data-mode={m}
        >
          {MODE_LABELS[m]}
        </button>
      ))}
    </div>
  );
  if (sweep.mode === "fixed") {
    return (
      <div className="sweep-param" data-testid={`sweep-${param.name}`} data-mode="fixed">
        {modePicker}
        <ParamField param={param} value={fixedValue} {...(fixedError ? { error: fixedError } : {})} budget={budget} onChange={onFixed} onBlur={() => onBlur(`parameters.${param.name}`)} />
      </div>
    );
  }
  const hint = boundsHint(param);
  const input = (part: "values" | "start" | "stop" | "count", text: string, placeholder: string, error: string | undefined, title: string) => {
    const id = fieldId(`${base}.${part}`);
    return (
      <div className={`field sweep-${part} ${error ? "field-error" : ""}`}>
        <label className="field-label" htmlFor={id}>
          {title}
        </label>
        <input
          id={id}
          className="input mono"
          autoComplete="off"
          spellCheck={false}
          inputMode={part === "values" ? "text" : part === "count" ? "numeric" : "decimal"}
          value={text}
          placeholder={placeholder}
          onChange={(e) => onSweep({ [part]: e.target.value })}
          onBlur={blurRow}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
          data-field={`${base}.${part}`}
        />
        {error ? (
          <div id={`${id}-error`} className="field-msg" role="alert" data-testid={`error-${base}.${part}`}>
            {error}
          </div>
        ) : null}
      </div>
    );
  };
  return (
    <div className="sweep-param swept" data-testid={`sweep-${param.name}`} data-mode={sweep.mode}>
      {modePicker}
      <div className="field">
        <span className="field-label">
          {label}
          <span className="tag">swept</span>
          {hint ? <span className="range mono">{hint}</span> : null}
        </span>
        {sweep.mode === "list" ? (
          input("values", sweep.values, listPlaceholder(param), errors.values, `Values of ${label}, separated by commas`)
        ) : (
          <div className="sweep-range">
            {input("start", sweep.start, "from", errors.start, "From")}
            {input("stop", sweep.stop, "to", errors.stop, "To")}
            {grid ? input("count", sweep.count, "5", errors.count, "Points") : null}
            <label className="check small sweep-log">
              <input type="checkbox" checked={sweep.log} onChange={(e) => onSweep({ log: e.target.checked })} onBlur={blurRow} data-field={`${base}.log`} />
              <span>Log scale</span>
            </label>
          </div>
        )}
        {param.help ? <div className="field-help">{param.help}</div> : null}
        {errors.axis ? (
          <div className="field-msg" role="alert" data-testid={`error-${base}`}>
            {errors.axis}
          </div>
        ) : null}
      </div>
    </div>
  );
}

function listPlaceholder(param: Parameter): string {
  if (param.type === ParameterType.CHOICE) return param.choices.join(", ");
  if (param.type === ParameterType.BOOL) return "false, true";
  return "e.g. 90, 100, 110";
}

/** A list starts from the value the parameter was fixed at (a choice: every choice; a flag:
 * both). */
function listSeed(fixed: FieldValue | undefined, param: Parameter): string {
  if (param.type === ParameterType.CHOICE) return param.choices.join(", ");
  if (param.type === ParameterType.BOOL) return "false, true";
  return typeof fixed === "string" ? fixed.trim() : "";
}
