// Renders the whole app at an address, with a fake client, for page tests.
import { render } from "@testing-library/react";
import { createStore, Provider } from "jotai";
import { clientAtom } from "../state/client";
import { App } from "../App";
import type { FakeClient } from "./fake";

export function renderAt(path: string, fake: FakeClient) {
  window.history.replaceState(null, "", path);
  const store = createStore();
  store.set(clientAtom, fake.client);
  render(
    <Provider store={store}>
      <App />
    </Provider>,
  );
  return store;
}
