import { useEffect, useRef } from "react";

/** Code with line numbers, one line marked (where an error points), scrolled into view. */
export function CodeListing({ code, line, path }: { code: string; line: number; path: string }) {
  const ref = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const pre = ref.current;
    const marked = pre?.querySelector<HTMLElement>(".error-line");
    if (pre && marked) pre.scrollTop = Math.max(0, marked.offsetTop - pre.clientHeight / 3);
  }, [code, line]);
  const lines = code.split("\n");
  return (
    <pre ref={ref} className="code listing" aria-label={`${path}, line ${line} marked`} data-testid="code-listing">
      {lines.map((text, i) => {
        const n = i + 1;
        const marked = n === line;
        return (
          <span
            key={n}
            className={`code-line ${marked ? "error-line" : ""}`}
            data-line={n}
            {...(marked ? { "data-testid": "error-line", "aria-current": "true" as const } : {})}
          >
            <span className="ln" aria-hidden="true">
              {n}
            </span>
            {text}
            {"\n"}
          </span>
        );
      })}
    </pre>
  );
}
