// Imported first by each file of test/postgres/: every store the tests it imports open is then a
// PostgreSQL one (test/support/postgres.ts), so the same tests check the team-mode store.
process.env.AIRLOCK_TEST_STORE = 'postgres';
