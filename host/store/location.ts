// What a database location names, without loading either store: `postgres://…` (or
// `postgresql://…`) is a team's PostgreSQL server, anything else a sql.js database file.
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The location as messages show it: a URL without its password. */
export function shownLocation(location: string): string {
  if (!isPostgresUrl(location)) return location;
  try {
    const u = new URL(location);
    u.password = '';
    return u.toString();
  } catch {
    return 'the PostgreSQL database (an unreadable URL)';
  }
}
