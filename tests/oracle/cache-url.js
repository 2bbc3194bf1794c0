#!/usr/bin/env node
// Batch oracle for tests/integration/test_ampcache_oracle.py.
// stdin: one JSON object per line, {"url": "...", "cacheDomain": "..."}.
// stdout: one JSON object per input line, in input order,
//         {"url": "...", "cacheUrl": "..."} or {"url": "...", "error": "..."}.
'use strict';

const readline = require('readline');
const {createCacheUrl} = require('@ampproject/toolbox-cache-url');

async function main() {
  const lines = readline.createInterface({input: process.stdin, crlfDelay: Infinity});
  for await (const line of lines) {
    if (!line.trim()) continue;
    const {url, cacheDomain = 'cdn.ampproject.org'} = JSON.parse(line);
    let out;
    try {
      out = {url, cacheUrl: await createCacheUrl(cacheDomain, url)};
    } catch (err) {
      out = {url, error: String(err && err.message ? err.message : err)};
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  }
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
