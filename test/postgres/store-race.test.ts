// test/host/store-race.test.ts on PostgreSQL: 8 processes racing for one gate; 4 committing at once.
import '../support/use-postgres.js';
import '../host/store-race.test.js';
