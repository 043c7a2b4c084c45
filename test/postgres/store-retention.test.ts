// test/host/store-retention.test.ts on PostgreSQL: retention.
import '../support/use-postgres.js';
import '../host/store-retention.test.js';
