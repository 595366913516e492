import { ModelList } from "../components/models/ModelList";
import { UploadCard } from "../components/models/UploadCard";

/** The models the caller can see, their versions, and pushing code as a new one. */
export function ModelsPage() {
  return (
    <section className="page" data-testid="models-page">
      <header className="page-head">
        <div>
          <h1>Models</h1>
          <p className="muted">The built-in models and the code you and others pushed. Every push of new code is a new, immutable version.</p>
        </div>
      </header>
      <UploadCard />
      <ModelList />
    </section>
  );
}
