// test/host/runtime-resume.test.ts on PostgreSQL: resuming runs, interrupted runs included (a driving process killed).
import '../support/use-postgres.js';
import '../host/runtime-resume.test.js';
