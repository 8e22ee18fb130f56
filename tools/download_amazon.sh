#!/usr/bin/env bash
# Downloads raw Amazon review data for datasets/amazon_raw.h (needs internet; not run by the tests).
#
#   tools/download_amazon.sh 2018 Industrial_and_Scientific [dest]   # 5-core reviews + metadata (McAuley 2018)
#   tools/download_amazon.sh 2023 Industrial_and_Scientific [dest]   # reviews + metadata (McAuley Lab 2023)
#
# Files are decompressed after download (recgrad reads plain JSON lines; it has no zlib dependency).
# Then, in C++:
#   load_amazon_reviews("dest/Industrial_and_Scientific_5.json", "dest/meta_Industrial_and_Scientific.json", opts)
#   load_amazon_reviews("dest/Industrial_and_Scientific.jsonl", "dest/meta_Industrial_and_Scientific.jsonl", opts)
# The processed MiniOneRec release (datasets/minionerec.h) is a different thing: see
# ../shared/data/amazon/SOURCE.md for where it comes from.
set -euo pipefail

usage() {
  sed -n '2,6p' "$0" >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
version=$1
category=$2
dest=${3:-data/amazon_raw/$version}
mkdir -p "$dest"

# Two mirrors of the McAuley Lab files; the second is tried when the first fails.
mirrors=(https://mcauleylab.ucsd.edu/public_datasets/data https://datarepo.eng.ucsd.edu/mcauley_group/data)
# 2018: https://nijianmo.github.io/amazon/ (per-category 5-core reviews and metadata, gzip'd JSON lines).
# 2023: https://amazon-reviews-2023.github.io/ (per-category reviews and metadata, gzip'd JSON lines).

fetch() {  # path under a mirror, output file (decompressed)
  local path=$1 out=$2
  if [[ -s $out ]]; then
    echo "have $out"
    return
  fi
  for mirror in "${mirrors[@]}"; do
    echo "downloading $mirror/$path"
    if curl --fail --location --retry 3 --output "$out.gz.part" "$mirror/$path"; then
      mv "$out.gz.part" "$out.gz"
      gunzip -f "$out.gz"  # writes $out whole, then removes the .gz
      return
    fi
  done
  rm -f "$out.gz.part"
  echo "could not download $path from any mirror" >&2
  exit 1
}

case $version in
  2018)
    fetch "amazon_v2/categoryFilesSmall/${category}_5.json.gz" "$dest/${category}_5.json"
    fetch "amazon_v2/metaFiles2/meta_${category}.json.gz" "$dest/meta_${category}.json"
    ;;
  2023)
    fetch "amazon_2023/raw/review_categories/${category}.jsonl.gz" "$dest/${category}.jsonl"
    fetch "amazon_2023/raw/meta_categories/meta_${category}.jsonl.gz" "$dest/meta_${category}.jsonl"
    ;;
  *)
    usage
    ;;
esac
echo "done: $(ls -1 "$dest")"
