import type { EffectResult } from "./effects.js";
import type { AccessDeps } from "./ports.js";
import { readHomeSnapshot } from "./read-home-snapshot.js";

/** The `publish-home` effect: renders one person's Home tab from the state in the database now. */
export async function publishHome(deps: AccessDeps, userId: string): Promise<EffectResult> {
  await deps.notifier.publishHome(await readHomeSnapshot(deps, userId));
  return { kind: "done" };
}
