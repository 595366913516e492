import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "jotai";
import { App } from "./App";
import { rememberShare } from "./lib/share";
import "./styles.css";

// A share link's token stays with the tab (sessionStorage) for the run it opens.
rememberShare(window.location);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Provider>
      <App />
    </Provider>
  </StrictMode>,
);
