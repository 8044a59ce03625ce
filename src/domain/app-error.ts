/**
 * An expected failure with two messages: `message` for the log, `userMessage` for the person
 * in Slack (an ephemeral sentence that says what to do). Anything that is not an AppError is
 * a bug and goes to Bolt's global error handler.
 */
export class AppError extends Error {
  readonly code: string;
  readonly userMessage: string;

  constructor(code: string, userMessage: string, logMessage?: string) {
    super(logMessage ?? userMessage);
    this.name = "AppError";
    this.code = code;
    this.userMessage = userMessage;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
