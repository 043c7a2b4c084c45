// test/host/semantics-runtime.test.ts on PostgreSQL: the SPEC's semantics through the runtime.
import '../support/use-postgres.js';
import '../host/semantics-runtime.test.js';
