#!/bin/sh
# Embed the index test / benchmark sets with the semsearch encoder
# (all-MiniLM-L6-v2, 384-d, normalised) into build/index-data/*.fvecs.
# Slow on 2 cores (the big set takes a while): run it in the background.
set -e
cd "$(dirname "$0")/.."
OUT=build/index-data
DATA=${SEMSEARCH_DATA_DIR:-../shared/data}
mkdir -p $OUT
python3 bench/index_prepare_texts.py "$DATA" $OUT
for set in arguana_queries arguana_corpus scifact_queries scifact_corpus big; do
  if [ ! -s $OUT/$set.fvecs ]; then
    echo "embedding $set ..."
    build/semsearch embed --format fvecs --out $OUT/$set.fvecs.part < $OUT/$set.txt
    mv $OUT/$set.fvecs.part $OUT/$set.fvecs
  fi
done
ls -la $OUT
