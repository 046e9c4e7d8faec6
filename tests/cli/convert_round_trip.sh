#!/usr/bin/env bash
# convert_round_trip.sh SHADOWDIFF PROTOC CASE_PROTO SEEDS_DIR: every seed goes
# text -> binary -> text through `shadowdiff convert`; the binary must be what
# protoc encodes from the seed, and the text written back must encode to the
# same bytes again, so neither direction loses or changes anything.
set -u
bin=$1 protoc=$2 proto=$3 seeds=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
encode() { "$protoc" --encode=shadowdiff.Case -I "$(dirname "$proto")" "$proto"; }

failures=0 count=0
for seed in "$seeds"/*.textproto; do
  name=$(basename "$seed" .textproto)
  count=$((count + 1))
  if ! encode < "$seed" > "$tmp/$name.want" ||
     ! "$bin" convert "$seed" "$tmp/$name.pb" ||
     ! cmp -s "$tmp/$name.want" "$tmp/$name.pb"; then
    echo "FAIL: $name: text -> binary differs from protoc's encoding"
    failures=$((failures + 1))
    continue
  fi
  if ! "$bin" convert "$tmp/$name.pb" "$tmp/$name.textproto" ||
     ! encode < "$tmp/$name.textproto" > "$tmp/$name.back" ||
     ! cmp -s "$tmp/$name.want" "$tmp/$name.back"; then
    echo "FAIL: $name: binary -> text is not the same case"
    failures=$((failures + 1))
  fi
done
[ "$count" -gt 0 ] || { echo "FAIL: no seed in $seeds"; exit 1; }
echo "$count seeds converted both ways, $failures failed"
[ "$failures" -eq 0 ]
