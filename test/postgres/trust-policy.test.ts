// test/host/trust-policy.test.ts on PostgreSQL: what a workspace may tighten, never loosen.
import '../support/use-postgres.js';
import '../host/trust-policy.test.js';
