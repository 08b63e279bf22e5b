export function consoleIsFresh(): boolean;
export function buildConsoleIfStale(options?: { quiet?: boolean }): Promise<boolean>;
