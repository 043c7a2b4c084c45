// test/host/runtime-gates.test.ts on PostgreSQL: the runtime's approval gates.
import '../support/use-postgres.js';
import '../host/runtime-gates.test.js';
