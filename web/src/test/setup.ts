import { afterEach, vi } from "vitest";
import { cleanup } from "@testing-library/react";

// Plotly needs a real layout engine; components only need to know it was called.
vi.mock("plotly.js-basic-dist-min", () => ({
  react: vi.fn(async () => undefined),
  purge: vi.fn(),
}));

afterEach(() => cleanup());

// jsdom does not scroll.
window.scrollTo = (() => undefined) as typeof window.scrollTo;
