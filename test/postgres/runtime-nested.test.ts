// test/host/runtime-nested.test.ts on PostgreSQL: nested runs.
import '../support/use-postgres.js';
import '../host/runtime-nested.test.js';
