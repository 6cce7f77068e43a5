#!/usr/bin/env bash
# Backs up Medkey's state: the database (chain mirror, records' ciphertext and wrapped keys,
# sessions, the audit log) and the attachment ciphertext. See docs/operations/README.md,
# "Backups", for what else an operator must keep (the secrets) and how to restore.
#
#   scripts/backup.sh DATABASE_URL BLOB_DIR OUT_DIR
#
# DATABASE_URL is a postgres:// URL (pg_dump, custom format) or sqlite:PATH (SQLite's online
# backup). BLOB_DIR is blobs.dir; for an S3 bucket, copy the bucket with your storage's own tool
# after this script (the database first: an attachment row without its object is found by
# `medkey export`, an object without its row is only unused space).
set -euo pipefail

if [ "$#" -ne 3 ]; then
  echo "usage: $0 DATABASE_URL BLOB_DIR OUT_DIR" >&2
  exit 2
fi
database_url=$1 blob_dir=$2 out=$3
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
  echo "backup: $out is not empty; choose a new directory" >&2
  exit 1
fi
# A backup holds share-link ids and live tickets, labels and recipients' names: the directory is
# the operator's only (0700) and every file in it 0600, whatever the umask says.
umask 077
mkdir -p "$out"
chmod 700 "$out"

case "$database_url" in
  postgres://* | postgresql://*)
    command -v pg_dump >/dev/null || { echo "backup: pg_dump is missing (apt-get install postgresql-client)" >&2; exit 1; }
    # One consistent snapshot of every table, whatever the vaults write meanwhile.
    pg_dump --format=custom --no-owner --file="$out/database.dump" "$database_url"
    ;;
  sqlite:*)
    command -v sqlite3 >/dev/null || { echo "backup: sqlite3 is missing (apt-get install sqlite3)" >&2; exit 1; }
    path=${database_url#sqlite://}
    path=${path#sqlite:}
    path=${path%%\?*}
    sqlite3 "$path" ".backup '$out/database.sqlite'"
    ;;
  *)
    echo "backup: DATABASE_URL must start with postgres://, postgresql:// or sqlite:" >&2
    exit 1
    ;;
esac

# After the database: every attachment the dump names is already in the directory.
if [ -d "$blob_dir" ]; then
  tar -C "$blob_dir" -cf "$out/blobs.tar" .
else
  echo "backup: $blob_dir is not a directory (blobs.dir)" >&2
  exit 1
fi
(cd "$out" && sha256sum -- * > SHA256SUMS)
chmod 600 "$out"/*
echo "backup: written to $out ($(du -sh "$out" | cut -f1)); keep the secrets apart from it"
