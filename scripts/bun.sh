#!/bin/sh
# Runs Bun with the given arguments, installing Bun (from npm) and the project's
# dependencies first when they are missing, so `npm start` / `npm test` work on a fresh clone.
set -e
cd "$(dirname "$0")/.."
BUN=$(command -v bun || true)
if [ -z "$BUN" ] && [ -x .tools/node_modules/.bin/bun ]; then BUN=$PWD/.tools/node_modules/.bin/bun; fi
if [ -z "$BUN" ]; then
  echo "Installing Bun from npm into .tools/ ..." >&2
  npm install --silent --no-audit --no-fund --prefix .tools bun@1.4.5 >&2
  BUN=$PWD/.tools/node_modules/.bin/bun
fi
if [ ! -f node_modules/.installed ] || [ package.json -nt node_modules/.installed ] || [ bun.lock -nt node_modules/.installed ]; then
  echo "Installing dependencies (bun install) ..." >&2
  "$BUN" install --frozen-lockfile >&2
  touch node_modules/.installed
fi
export PATH="$(dirname "$BUN"):$PATH"
# `bun test` runs each file in a fresh global with its own database (test/setup.ts needs that).
if [ "$1" = test ]; then
  shift
  case " $* " in
    *" --isolate "* | *" --parallel"*) ;;
    *) set -- --isolate "$@" ;;
  esac
  exec "$BUN" test "$@"
fi
exec "$BUN" "$@"
