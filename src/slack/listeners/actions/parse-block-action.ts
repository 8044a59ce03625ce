import type { z } from "zod";
import { AppError } from "../../../domain/app-error.js";

/**
 * Validates a `block_actions` payload with `schema` (which fixes the shape the button's value
 * must have). Anything else is refused before it reaches the domain.
 */
export function parseBlockAction<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new AppError("MALFORMED_PAYLOAD", "That button's data didn't look like one of mine, so nothing was changed. Please use the latest message.", `malformed block_actions: ${parsed.error.message}`);
  }
  return parsed.data;
}
