/** Says the page was opened with a share link: a read-only view. */
export function SharedBadge() {
  return (
    <span className="badge badge-info shared-badge" data-testid="shared-badge" title="Opened with a share link: you can look, not change anything">
      <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
        <path d="M8 3C4.5 3 2 8 2 8s2.5 5 6 5 6-5 6-5-2.5-5-6-5zm0 8a3 3 0 110-6 3 3 0 010 6z" fill="currentColor" />
      </svg>
      Shared read-only view
    </span>
  );
}
