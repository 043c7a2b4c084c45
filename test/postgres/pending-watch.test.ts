// test/host/pending-watch.test.ts on PostgreSQL: `airlock pending --watch` told by LISTEN/NOTIFY.
import '../support/use-postgres.js';
import '../host/pending-watch.test.js';
