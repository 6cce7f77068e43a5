#!/usr/bin/env bash
# Restores a backup made by scripts/backup.sh into an EMPTY database and an empty blob
# directory, then checks the files against their checksums first. Start `medkey serve` with the
# same secrets afterwards; clients' `medkey audit verify` tells whether the restored log is older
# than what they saw (a rollback). See docs/operations/README.md, "Backups".
#
#   scripts/restore.sh BACKUP_DIR DATABASE_URL BLOB_DIR
set -euo pipefail

if [ "$#" -ne 3 ]; then
  echo "usage: $0 BACKUP_DIR DATABASE_URL BLOB_DIR" >&2
  exit 2
fi
backup=$1 database_url=$2 blob_dir=$3
(cd "$backup" && sha256sum --check --quiet SHA256SUMS) || { echo "restore: $backup does not match its SHA256SUMS" >&2; exit 1; }
mkdir -p "$blob_dir"
if [ -n "$(ls -A "$blob_dir")" ]; then
  echo "restore: $blob_dir is not empty; restore into an empty directory" >&2
  exit 1
fi

case "$database_url" in
  postgres://* | postgresql://*)
    tables=$(psql --no-psqlrc --tuples-only --no-align --dbname="$database_url" \
      --command="SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
    if [ "$tables" != "0" ]; then
      echo "restore: the database already has tables; restore into an empty one" >&2
      exit 1
    fi
    pg_restore --no-owner --exit-on-error --single-transaction --dbname="$database_url" "$backup/database.dump"
    ;;
  sqlite:*)
    path=${database_url#sqlite://}
    path=${path#sqlite:}
    path=${path%%\?*}
    if [ -e "$path" ]; then
      echo "restore: $path exists; restore into a new file" >&2
      exit 1
    fi
    cp "$backup/database.sqlite" "$path"
    ;;
  *)
    echo "restore: DATABASE_URL must start with postgres://, postgresql:// or sqlite:" >&2
    exit 1
    ;;
esac
tar -C "$blob_dir" -xf "$backup/blobs.tar"
echo "restore: done; start medkey serve with the same secrets"
