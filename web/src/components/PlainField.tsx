import { fieldId } from "./ParamField";

/** A text field of the form outside the model's schema (seed, shards, a script's arguments,
 * the precision target). */
export function PlainField(props: {
  path: string;
  label: string;
  value: string;
  placeholder: string;
  help: string;
  error: string | undefined;
  /** Free text instead of a number. */
  text?: boolean;
  /** A number that may have a fraction. */
  decimal?: boolean;
  disabled?: boolean;
  onChange: (v: string) => void;
  onBlur: () => void;
}) {
  const id = fieldId(props.path);
  return (
    <div className={`field ${props.error ? "field-error" : ""}`} data-testid={`field-${props.path}`}>
      <label className="field-label" htmlFor={id}>
        {props.label}
      </label>
      <input
        id={id}
        className="input mono"
        inputMode={props.text ? "text" : props.decimal ? "decimal" : "numeric"}
        autoComplete="off"
        spellCheck={props.text ? false : undefined}
        disabled={props.disabled}
        value={props.value}
        placeholder={props.placeholder}
        onChange={(e) => props.onChange(e.target.value)}
        onBlur={props.onBlur}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={`${id}-help${props.error ? ` ${id}-error` : ""}`}
        data-field={props.path}
      />
      <div id={`${id}-help`} className="field-help">
        {props.help}
      </div>
      {props.error ? (
        <div id={`${id}-error`} className="field-msg" role="alert" data-testid={`error-${props.path}`}>
          {props.error}
        </div>
      ) : null}
    </div>
  );
}
