// A page-wide progress bar while Remix loads the next page or submits a form, so a slow
// connection shows that something is happening. Quick navigations (<150 ms) never show it.
import { useNavigation } from "@remix-run/react";

export function NavigationProgress() {
  const busy = useNavigation().state !== "idle";
  return busy ? <div className="navigation-progress" aria-hidden="true" data-testid="navigation-progress" /> : null;
}
