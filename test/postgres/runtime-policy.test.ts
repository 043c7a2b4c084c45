// test/host/runtime-policy.test.ts on PostgreSQL: policies and standing rules.
import '../support/use-postgres.js';
import '../host/runtime-policy.test.js';
