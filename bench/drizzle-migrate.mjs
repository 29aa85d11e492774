// drizzle-migrate.mjs DIR OUT - apply the Drizzle migrations of DIR (its
// meta/_journal.json and .sql files) to a new SQLite database with
// Drizzle's own migrator (drizzle-orm over sql.js: no native build), and
// write the database to the file OUT.  Drizzle records each migration in
// __drizzle_migrations (the SHA-256 of the file, the journal's time).
// The packages are looked for in $TOOLS/node_modules (npm --prefix).
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(`${process.env.TOOLS}/`);
const initSqlJs = require('sql.js');
const { drizzle } = require('drizzle-orm/sql-js');
const { migrate } = require('drizzle-orm/sql-js/migrator');

const [dir, out] = process.argv.slice(2);
const SQL = await initSqlJs();
const sqlite = new SQL.Database();
migrate(drizzle(sqlite), { migrationsFolder: dir });
fs.writeFileSync(out, Buffer.from(sqlite.export()));
