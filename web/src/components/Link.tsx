import { useSetAtom } from "jotai";
import type { AnchorHTMLAttributes, MouseEvent } from "react";
import { locationAtom } from "../state/router";

/** An in-app link: a real <a href> (copyable, middle-click opens a tab) routed client-side. */
export function Link({ to, onClick, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const navigate = useSetAtom(locationAtom);
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={handle} {...rest} />;
}
