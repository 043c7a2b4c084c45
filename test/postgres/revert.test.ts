// test/host/revert.test.ts on PostgreSQL: undo, with 8 CLI processes reverting one change at once and a host killed.
import '../support/use-postgres.js';
import '../host/revert.test.js';
