import { useAtomValue } from "jotai";
import { useEffect } from "react";
import { routeAtom, type Route } from "./state/router";
import { shareAtom } from "./state/share";
import { sharedPath } from "./lib/share";
import { Link } from "./components/Link";
import { EmptyState } from "./components/States";
import { RunsPage } from "./pages/RunsPage";
import { NewRunPage } from "./pages/NewRunPage";
import { RunPage } from "./pages/RunPage";
import { ComparePage } from "./pages/ComparePage";
import { ModelsPage } from "./pages/ModelsPage";
import { NewStudyPage } from "./pages/NewStudyPage";
import { StudiesPage } from "./pages/StudiesPage";
import { StudyPage } from "./pages/StudyPage";

function titleOf(route: Route): string {
  switch (route.page) {
    case "runs":
      return "Runs";
    case "new":
      return "New simulation";
    case "run":
      return `Run ${route.id.slice(0, 8)}`;
    case "compare":
      return "Compare runs";
    case "models":
      return "Models";
    case "studies":
      return "Studies";
    case "newStudy":
      return "New study";
    case "study":
      return `Study ${route.id.slice(0, 8)}`;
    default:
      return "Not found";
  }
}

export function App() {
  const route = useAtomValue(routeAtom);
  // A shared read-only view offers nothing that needs an account.
  const share = useAtomValue(shareAtom);
  useEffect(() => {
    document.title = `${titleOf(route)} · Simlab`;
  }, [route]);
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link to={share ? sharedPath(share, share.token) : "/"} className="brand" aria-label={share ? `Simlab: the shared ${share.kind}` : "Simlab home"}>
            <svg viewBox="0 0 32 32" width="26" height="26" aria-hidden="true">
              <rect width="32" height="32" rx="7" fill="#2f5bea" />
              <path d="M7 22c4-12 8-12 9-6s5 6 9-6" stroke="white" strokeWidth="3" fill="none" strokeLinecap="round" />
            </svg>
            <span>Simlab</span>
          </Link>
          {share ? null : (
            <nav className="nav" aria-label="Main">
              <NavLink to="/" active={route.page === "runs" || route.page === "run"}>
                Runs
              </NavLink>
              <NavLink to="/new" active={route.page === "new"}>
                New simulation
              </NavLink>
              <NavLink to="/studies" active={route.page === "studies" || route.page === "study" || route.page === "newStudy"}>
                Studies
              </NavLink>
              <NavLink to="/compare" active={route.page === "compare"}>
                Compare
              </NavLink>
              <NavLink to="/models" active={route.page === "models"}>
                Models
              </NavLink>
            </nav>
          )}
        </div>
      </header>
      <main id="main" className="main">
        <Page route={route} />
      </main>
    </div>
  );
}

function NavLink({ to, active, children }: { to: string; active: boolean; children: React.ReactNode }) {
  return (
    <Link to={to} className={`nav-link ${active ? "active" : ""}`} aria-current={active ? "page" : undefined}>
      {children}
    </Link>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "runs":
      return <RunsPage />;
    case "new":
      return <NewRunPage key={route.from ?? "new"} {...(route.from ? { from: route.from } : {})} {...(route.model ? { model: route.model } : {})} />;
    case "run":
      return <RunPage key={route.id} />;
    case "compare":
      return <ComparePage key={route.ids.join(",")} ids={route.ids} />;
    case "models":
      return <ModelsPage />;
    case "studies":
      return <StudiesPage />;
    case "newStudy":
      return <NewStudyPage key={route.model ?? "new"} {...(route.model ? { model: route.model } : {})} />;
    case "study":
      return <StudyPage key={route.id} />;
    default:
      return (
        <section className="page">
          <EmptyState title="Page not found" action={<Link className="btn btn-primary" to="/">Go to runs</Link>}>
            There is nothing at this address.
          </EmptyState>
        </section>
      );
  }
}
