// test/host/store-interrupted.test.ts on PostgreSQL: runs whose process died.
import '../support/use-postgres.js';
import '../host/store-interrupted.test.js';
