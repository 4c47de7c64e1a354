// Says, before any test runs, which databases the database tests (*.db.test.ts) will run on.
export default function announceDatabases() {
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    console.log(`\n[db tests] running on PGlite AND real Postgres (${url.replace(/:[^:@/]*@/, ':***@')})\n`);
    return;
  }
  const line = '!'.repeat(100);
  console.warn(
    `\n${line}\n!! TEST_DATABASE_URL is not set: database tests run on PGlite ONLY.\n` +
      `!! Real Postgres was NOT tested. Set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres (as .ci/run does).\n${line}\n`,
  );
}
