import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { ParamField, boundsHint } from "../ParamField";
import { optionModel } from "../../test/fake";

const model = optionModel();
const p = (n: string) => model.parameters.find((x) => x.name === n)!;

describe("ParamField", () => {
  it("labels the input, shows unit, help, range and the error accessibly", () => {
    const onChange = vi.fn();
    render(<ParamField param={p("spot")} value="-1" error="must be > 0 (got -1)" onChange={onChange} onBlur={() => {}} />);
    const input = screen.getByLabelText(/Spot price/);
    expect(input.getAttribute("aria-invalid")).toBe("true");
    const described = input.getAttribute("aria-describedby")!.split(" ").map((id) => document.getElementById(id)?.textContent);
    expect(described).toEqual(["Price today.", "> 0", "must be > 0 (got -1)"]);
    expect(screen.getByText("currency")).toBeTruthy();
    expect(screen.getByRole("alert").textContent).toBe("must be > 0 (got -1)");
    fireEvent.change(input, { target: { value: "5" } });
    expect(onChange).toHaveBeenCalledWith("5");
  });
  it("renders choices as a select and booleans as a checkbox", () => {
    const onChange = vi.fn();
    render(
      <>
        <ParamField param={p("option_type")} value="call" onChange={onChange} onBlur={() => {}} />
        <ParamField param={p("antithetic")} value={false} onChange={onChange} onBlur={() => {}} />
      </>,
    );
    fireEvent.change(screen.getByLabelText("Option type"), { target: { value: "put" } });
    expect(onChange).toHaveBeenLastCalledWith("put");
    fireEvent.click(screen.getByLabelText("Antithetic"));
    expect(onChange).toHaveBeenLastCalledWith(true);
  });
  it("writes ranges readably", () => {
    expect(boundsHint(p("paths"))).toBe("1 ≤ x ≤ 10,000,000,000");
    expect(boundsHint(p("volatility"))).toBe("0 < x ≤ 5");
  });
});

describe("ParamField with a precision target", () => {
  it("calls the sample count the budget", () => {
    render(<ParamField param={p("paths")} value="1000000" budget onChange={() => {}} onBlur={() => {}} />);
    expect(screen.getByTestId("sample-tag").textContent).toBe("budget: max samples");
    const input = screen.getByLabelText(/Paths/);
    const help = document.getElementById(input.getAttribute("aria-describedby")!.split(" ")[0]!)!;
    expect(help.textContent).toMatch(/^The most the run may draw/);
  });
});
