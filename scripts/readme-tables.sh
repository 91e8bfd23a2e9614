#!/usr/bin/env bash
# Rewrites the README's generated tables (flags, metrics) from their definitions in dist/, so a
# changed flag or metric is one command away from the copy the tests compare. Run after a build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node - <<'JS'
const fs = require('fs');
const replaceTable = (text, header, table) => {
  const start = text.indexOf(header);
  if (start < 0) throw new Error(`no table starting with ${header}`);
  let end = text.indexOf('\n\n', start);
  if (end < 0) end = text.length;
  return text.slice(0, start) + table + text.slice(end);
};
let readme = fs.readFileSync('README.md', 'utf8');
const { metricsMarkdown } = require('./dist/src/agent/metrics-doc.js');
const { flagsMarkdown } = require('./dist/src/config/flags-doc.js');
readme = replaceTable(readme, '| metric | type | labels | meaning |', metricsMarkdown());
const flags = flagsMarkdown();
readme = replaceTable(readme, flags.split('\n')[0], flags);
fs.writeFileSync('README.md', readme);
process.exit(0);
JS
