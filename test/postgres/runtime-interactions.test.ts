// test/host/runtime-interactions.test.ts on PostgreSQL: questions to the developer.
import '../support/use-postgres.js';
import '../host/runtime-interactions.test.js';
