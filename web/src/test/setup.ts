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

// jsdom's Blob has no text() (browsers do): read it as the browser would.
if (!Blob.prototype.text) {
  Blob.prototype.text = function text(this: Blob) {
    return new Promise<string>((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result as string);
      reader.onerror = () => reject(reader.error);
      reader.readAsText(this);
    });
  };
}
