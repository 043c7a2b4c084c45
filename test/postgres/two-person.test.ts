// test/host/two-person.test.ts on PostgreSQL.
import '../support/use-postgres.js';
import '../host/two-person.test.js';
