// test/host/team-wait.test.ts on PostgreSQL: the CI job and the developers share a server.
import '../support/use-postgres.js';
import '../host/team-wait.test.js';
