#!/usr/bin/env bash
# recbench refuses bad input before any work (issue 13): each case runs the binary on tiny synthetic data and
# expects a non-zero exit, a message naming the flag and value, and no results written. Usage:
#   recbench_faults.sh <path to recbench> <scratch folder>
set -u
recbench=$1
scratch=$2
rm -rf "$scratch" && mkdir -p "$scratch" && cd "$scratch" || exit 2
failures=0

# tiny_args <args...>: sets tiny_defaults to recbench's flags on tiny synthetic data: --protocol fixed,
# --models gru4rec, --optimizers adamw, --max-epochs 1 and --out out unless the arguments set them
tiny_args() {
  tiny_defaults=(--quiet --synthetic-users 100 --synthetic-items 200)
  local flag
  for flag in "--protocol fixed" "--models gru4rec" "--optimizers adamw" "--max-epochs 1" "--out out"; do
    local name=${flag%% *}
    if ! printf '%s\n' "$@" | grep -qx -- "$name"; then tiny_defaults+=($flag); fi
  done
}
# run_tiny <args...>: recbench on tiny synthetic data (see tiny_args)
run_tiny() {
  tiny_args "$@"
  "$recbench" "${tiny_defaults[@]}" "$@"
}
# exec_tiny <args...>: run_tiny that replaces the calling (sub)shell with recbench, so that the PID of a
# background "(exec_tiny ...) &" is recbench's own
exec_tiny() {
  tiny_args "$@"
  exec "$recbench" "${tiny_defaults[@]}" "$@"
}

# expect_refused <expected message part> <args...>: exits non-zero, says it, trains nothing, writes no results
expect_refused() {
  local expected=$1
  shift
  rm -rf out
  local output status
  output=$(run_tiny "$@" 2>&1)
  status=$?
  if [ "$status" -eq 0 ]; then
    echo "FAIL: recbench $* exited 0; expected an error containing: $expected"
    failures=$((failures + 1))
  elif ! grep -qF -- "$expected" <<<"$output"; then
    echo "FAIL: recbench $*: the message does not contain '$expected':"
    echo "$output" | tail -3
    failures=$((failures + 1))
  elif [ -e out/results.json ] || grep -q "best valid" <<<"$output"; then
    echo "FAIL: recbench $*: trained or wrote results before refusing"
    failures=$((failures + 1))
  else
    echo "ok: $* -> $(echo "$output" | grep -F -- "$expected" | head -1)"
  fi
}

# verdict <condition status> <what>: "ok: <what>", or "FAIL: <what>" with the last lines of $output, counted
verdict() {
  if [ "$1" -eq 0 ]; then
    echo "ok: $2"
  else
    echo "FAIL: $2 (exit status $status); the output ends:"
    echo "$output" | tail -3
    failures=$((failures + 1))
  fi
}

# learning rates: not a positive finite number, a misspelt optimizer, trailing junk, out of range
expect_refused "--lr adamw: a learning rate must be a positive finite number, got 'nan'" --lr adamw=nan
expect_refused "got '-1'" --lr adamw=-1
expect_refused "got '0'" --lr adamw=0
expect_refused "--lr names optimizer 'adamx', which is not among --optimizers" --lr adamx=5e-3
expect_refused "'1e-3x' is not a number" --lr adamw=1e-3x
expect_refused "'1e400' is out of the range of a double" --lr adamw=1e400
expect_refused "--lr sets 'adamw' twice" --lr adamw=1e-3 --lr adamw=2e-3
expect_refused "apply to --protocol fixed only" --protocol tuned --lr adamw=1e-3
expect_refused "--adamw-part-lr names 'adamw', which has no AdamW part" --adamw-part-lr adamw=1e-3
# lists and seeds
expect_refused "--seeds: '' is not a seed" --seeds ''
expect_refused "--seeds: '-1' is not a seed" --seeds -1
expect_refused "--seeds: 'abc' is not a seed" --seeds abc
expect_refused "--seeds repeats seed 1" --seeds 1,1
expect_refused "larger than 2^64 - 1" --seeds 99999999999999999999
expect_refused "--tuning-seeds: 'x' is not a seed" --protocol tuned --tuning-seeds x
expect_refused "--models has an empty entry" --models ''
expect_refused "unknown model 'sasrek'" --models gru4rec,sasrek
expect_refused "unknown optimizer" --optimizers adamw,adamx
# numbers out of range
expect_refused "--eval-every must be >= 0, got -1" --eval-every -1
expect_refused "--negatives must be >= 1, got 0" --loss bce --negatives 0
expect_refused "--negatives must be >= 1, got -2" --loss bce --negatives -2
expect_refused "--batch-size must be >= 1, got 0" --batch-size 0
expect_refused "--patience must be >= 1, got 0" --patience 0
expect_refused "--selection-k must be one of" --selection-k 7
expect_refused "set at least one budget" --max-epochs 0
expect_refused "--max-minutes must be a finite number >= 0" --max-minutes nan
expect_refused "--audit-every must be >= 1" --audit --audit-every 0
expect_refused "--max-length must be >= 0" --max-length -3
expect_refused "unknown protocol 'tunned'" --protocol tunned
expect_refused "--budget must be quick or full, got 'fast'" --budget fast
expect_refused "--full means --budget full, but --budget quick was given too" --full --budget quick
expect_refused "--tuning-seeds applies to --protocol tuned only" --tuning-seeds 3
# paths
touch a_file
expect_refused "--out 'a_file' exists and is not a folder" --out a_file
expect_refused "--dataset 'no_such_folder' is neither 'synthetic' nor a folder" --dataset no_such_folder
# config files: an unknown or misspelt key, a [section], a line that is not key = value
printf 'max-step = 5\n' >c1.ini
expect_refused "max-step" --config c1.ini
printf 'max_steps = 5\n' >c2.ini
expect_refused "max_steps" --config c2.ini
printf '[section]\nmax-steps = 5\n' >c3.ini
expect_refused "section" --config c3.ini
printf 'garbage\n' >c4.ini
expect_refused "garbage" --config c4.ini

# Memory: ids are names, never sizes. A user id of A2000000000 (once a 24 GB user table) trains with an address
# space of 400 MB beyond what its shared libraries map (the CUDA build's cuBLAS alone maps over 600 MB); an item
# id outside the catalogue is refused with its file:line before any work.
libraries_kb=$(ldd "$recbench" | awk '/=> \//{print $3}' | xargs -r du -Lk | awk '{s += $1} END {print s + 0}')
memory_limit_kb=$((400000 + libraries_kb))
make_release() {  # make_release <folder> <train row>...: a 3-item MiniOneRec-format release with those rows
  local folder=$1 header='user_id,history_item_title,item_title,history_item_id,item_id,history_item_sid,item_sid'
  shift
  rm -rf "$folder" && mkdir -p "$folder"/{info,index,train,valid,test}
  printf '<a_1><b_1>\tItem zero\t0\n<a_1><b_2>\tItem one\t1\n<a_2><b_1>\tItem two\t2\n' >"$folder/info/Tiny.txt"
  echo '{"0": ["<a_1>", "<b_1>"], "1": ["<a_1>", "<b_2>"], "2": ["<a_2>", "<b_1>"]}' >"$folder/index/Tiny.index.json"
  echo '{"0": {"title": "Item zero"}, "1": {"title": "Item one"}, "2": {"title": "Item two"}}' \
    >"$folder/index/Tiny.item.json"
  printf '%s\n' "$header" "$@" >"$folder/train/Tiny.csv"
  cp "$folder/train/Tiny.csv" "$folder/valid/Tiny.csv"
  cp "$folder/train/Tiny.csv" "$folder/test/Tiny.csv"
}
row_two="A2,\"['Item zero', 'Item one']\",Item two,\"[0, 1]\",2,\"['<a_1><b_1>', '<a_1><b_2>']\",<a_2><b_1>"
make_release Tiny "A2000000000,['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>" "$row_two"
rm -rf out
output=$( (ulimit -v "$memory_limit_kb" && "$recbench" --quiet --protocol fixed --dataset Tiny --models caser --optimizers adamw --max-epochs 1 \
  --out out) 2>&1)
status=$?
[ "$status" -eq 0 ] && grep -q '"model": "caser"' out/results.json 2>/dev/null
verdict $? "user id A2000000000 trains Caser with 400 MB of address space beyond its libraries' ${libraries_kb} kB"
make_release Tiny "A1,['Item zero'],Item one,[0],2000000000,['<a_1><b_1>'],<a_1><b_2>" "$row_two"
rm -rf out
output=$( (ulimit -v "$memory_limit_kb" && "$recbench" --quiet --protocol fixed --dataset Tiny --models caser --optimizers adamw --max-epochs 1 \
  --out out) 2>&1)
status=$?
[ "$status" -ne 0 ] && grep -qF "Tiny/train/Tiny.csv:2: item_id 2000000000 is not in the catalogue" <<<"$output" &&
  [ ! -e out/results.json ]
verdict $? "item id 2000000000 is refused with its file:line before any work"

# The default, --protocol tuned with --budget quick: the learning rates are searched on seed 0 itself, and the
# chosen point's tuning run is kept as its final run (each grid point trains once: the progress shows no final run
# beyond the tuning runs).
rm -rf out
output=$("$recbench" --synthetic-users 100 --synthetic-items 200 --models gru4rec --optimizers adamw,muon \
  --max-epochs 1 --out out 2>&1)
status=$?
trained=$(grep -c "^\[" <<<"$output")
tuning=$(grep -c "^\[tuning " <<<"$output")
[ "$status" -eq 0 ] && [ "$trained" -eq "$tuning" ] && [ "$tuning" -ge 5 ] &&
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["protocol"]=="tuned" and len(j["runs"])==2 and "learning rates only" in j["tuning_description"] and sum(t["chosen"] for t in j["tuning"])==2' out/results.json 2>/dev/null
verdict $? "the default tuned quick budget: $tuning tuning runs ($trained trained), the chosen ones kept as the 2 final runs"

# TIGER: trains on a release's semantic IDs (beam widths within the 3-item catalogue), and is refused before any
# work on synthetic data, with a sampled loss, or with a beam width above the catalogue (after sasrec in the list)
make_release Tiny "A1,['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>" "$row_two"
rm -rf out
tiger_small=(--model-option tiger.valid_beams=2 --model-option tiger.test_beams=3 --model-option tiger.d_model=16
  --model-option tiger.head_dim=4 --model-option tiger.d_ff=16 --model-option tiger.user_buckets=4)
output=$("$recbench" --quiet --protocol fixed --dataset Tiny --models tiger --optimizers adamw,muon --max-epochs 2 \
  "${tiger_small[@]}" --out out 2>&1)
status=$?
[ "$status" -eq 0 ] && grep -q '"model": "tiger"' out/results.json 2>/dev/null &&
  grep -q "collisions: 0 items" out/REPORT.md 2>/dev/null
verdict $? "TIGER trains with adamw and muon on a release's semantic IDs"
rm -rf out
output=$("$recbench" --quiet --dataset Tiny --models tiger --optimizers adamw,muon --max-epochs 1 "${tiger_small[@]}" \
  --out out 2>&1)
status=$?
[ "$status" -eq 0 ] &&
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["protocol"]=="tuned" and len(j["runs"])==2 and all(r["model"]=="tiger" for r in j["runs"]) and sum(t["chosen"] for t in j["tuning"])==2' out/results.json 2>/dev/null
verdict $? "TIGER under the tuned protocol (the default): its learning rates searched for adamw and muon"
expect_refused "needs semantic IDs or item text" --models tiger
expect_refused "does not apply to it (use --loss softmax)" --dataset Tiny --models tiger --loss bce "${tiger_small[@]}"
expect_refused "must not exceed the catalogue's 3 items" --dataset Tiny --models sasrec,tiger
expect_refused "protocol muonrec has no variant of model 'tiger'" --protocol muonrec --dataset Tiny --models tiger
expect_refused "tiger: valid_beams and test_beams must be >= 1, got 0" --dataset Tiny --models tiger \
  --model-option tiger.valid_beams=0
# MiniOneRec (SFT): trains on the release's semantic IDs and titles with adamw and muon; refused without them.
rm -rf out
minionerec_small=(--model-option minionerec.valid_beams=2 --model-option minionerec.test_beams=3
  --model-option minionerec.hidden=16 --model-option minionerec.layers=1 --model-option minionerec.heads=2
  --model-option minionerec.kv_heads=1 --model-option minionerec.intermediate=16
  --model-option minionerec.min_word_count=1 --rl-group 2)
output=$("$recbench" --quiet --protocol fixed --dataset Tiny --models minionerec --optimizers adamw,muon \
  --max-epochs 2 "${minionerec_small[@]}" --out out 2>&1)
status=$?
[ "$status" -eq 0 ] && grep -q '"model": "minionerec"' out/results.json 2>/dev/null
verdict $? "MiniOneRec trains with adamw and muon on a release's semantic IDs and titles"
# ... then its GRPO stage: logged in results.json and reported (SFT -> RL change); --resume returns it unchanged
# from its checkpoint; --rl-prompts 0 is SFT only
rl_of() { python3 -c 'import json,sys; print(json.dumps([r["rl"]["test"] for r in json.load(open(sys.argv[1]))["runs"]]))' "$1"; }
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert all(len(r["rl"]["steps"]) >= 1 and "ndcg@10" in r["rl"]["test"] for r in j["runs"])' out/results.json 2>/dev/null &&
  grep -q "SFT, then GRPO" out/results.md && grep -q "does reinforcement learning (GRPO) after SFT raise" out/REPORT.md &&
  grep -q "| train s | wall s | peak GB |" out/results.md &&
  [ -f out/checkpoints/minionerec_adamw_seed0_rl.safetensors ]
verdict $? "MiniOneRec's GRPO stage runs after SFT, is logged in results.json and reported, and checkpoints"
first_rl=$(rl_of out/results.json)
output=$("$recbench" --quiet --protocol fixed --dataset Tiny --models minionerec --optimizers adamw,muon \
  --max-epochs 2 "${minionerec_small[@]}" --out out --resume 2>&1)
[ "$?" -eq 0 ] && [ "$(rl_of out/results.json)" = "$first_rl" ] &&
  python3 -c 'import json,sys; assert all(r["rl"]["resumed"] for r in json.load(open(sys.argv[1]))["runs"])' out/results.json
verdict $? "--resume returns finished GRPO stages from their checkpoints unchanged"
rm -rf out
output=$("$recbench" --quiet --protocol fixed --dataset Tiny --models minionerec --optimizers adamw --max-epochs 1 \
  "${minionerec_small[@]}" --rl-prompts 0 --out out 2>&1)
[ "$?" -eq 0 ] && python3 -c 'import json,sys; assert "rl" not in json.load(open(sys.argv[1]))["runs"][0]' out/results.json
verdict $? "--rl-prompts 0: MiniOneRec's SFT only"
# on a folder named Industrial_and_Scientific, REPORT.md sets the results beside the published MiniOneRec table
rm -rf out Industrial_and_Scientific && cp -r Tiny Industrial_and_Scientific
output=$("$recbench" --quiet --protocol fixed --dataset Industrial_and_Scientific --models minionerec --optimizers adamw \
  --max-epochs 1 "${minionerec_small[@]}" --out out 2>&1)
[ "$?" -eq 0 ] && grep -q "Against the published MiniOneRec table" out/REPORT.md &&
  grep -q "| minionerec | 0.1167 | .*after GRPO" out/REPORT.md && grep -q "| gru4rec | 0.0669 | not run" out/REPORT.md &&
  grep -q "SOURCE.md" out/REPORT.md
verdict $? "on Industrial_and_Scientific, REPORT.md compares with the published MiniOneRec table"
rm -rf Industrial_and_Scientific
# bad GRPO settings, refused before any work: a group larger than the catalogue, a negative KL weight, a reward
# that does not exist
expect_refused "group_size must be in 2..3" --dataset Tiny --models minionerec --rl-group 4 \
  --model-option minionerec.valid_beams=2 --model-option minionerec.test_beams=3
expect_refused "beta must be >= 0" --dataset Tiny --models minionerec --rl-beta -0.1
expect_refused "--rl-reward" --dataset Tiny --models minionerec --rl-reward best
rm -rf out
output=$("$recbench" --quiet --dataset Tiny --models minionerec --optimizers adamw,muon --max-epochs 1 \
  "${minionerec_small[@]}" --out out 2>&1)
status=$?
[ "$status" -eq 0 ] &&
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["protocol"]=="tuned" and len(j["runs"])==2 and all(r["model"]=="minionerec" for r in j["runs"]) and sum(t["chosen"] for t in j["tuning"])==2 and len(j["tuning"])>=6' out/results.json 2>/dev/null
verdict $? "MiniOneRec under the tuned protocol (the default): its learning rates searched for adamw and muon"
expect_refused "needs semantic IDs or item text" --models minionerec
expect_refused "minionerec: valid_beams and test_beams must be >= 1, got 0" --dataset Tiny --models minionerec \
  --model-option minionerec.valid_beams=0
# a prompt longer than the context: refused when the model is built, naming the task, the item and the lengths
expect_refused "more than the context of 8" --dataset Tiny --models minionerec --model-option minionerec.context=8
# starting from a Qwen2 folder: a missing or malformed tokenizer.json is named
rm -rf qwen2_folder && mkdir qwen2_folder
expect_refused "qwen2_folder has no tokenizer.json" --dataset Tiny --models minionerec \
  --model-option minionerec.qwen2=qwen2_folder
printf '{"model": {"type": "BPE", "vocab": ' >qwen2_folder/tokenizer.json
expect_refused "qwen2_folder/tokenizer.json" --dataset Tiny --models minionerec --model-option minionerec.qwen2=qwen2_folder
# Bad releases for TIGER, each refused naming the file (and line or item) before any work: an empty catalogue, an
# item without a semantic ID (in info/ and in index/), an item missing from the item text, and item text with no
# usable term when the semantic IDs are computed from it.
make_release Tiny "A1,['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>" "$row_two"
: >Tiny/info/Tiny.txt
expect_refused "Tiny/info/Tiny.txt: the catalogue has 0 items" --dataset Tiny --models tiger
make_release Tiny "A1,['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>" "$row_two"
printf '<a_1><b_1>\tItem zero\t0\n\tItem one\t1\n<a_2><b_1>\tItem two\t2\n' >Tiny/info/Tiny.txt
expect_refused "Tiny/info/Tiny.txt:2: semantic ID '' is not a sequence of <token>s" --dataset Tiny --models tiger
make_release Tiny "A1,['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>" "$row_two"
echo '{"0": ["<a_1>", "<b_1>"], "2": ["<a_2>", "<b_1>"]}' >Tiny/index/Tiny.index.json
expect_refused "Tiny/index/Tiny.index.json: 2 items, but Tiny/info/Tiny.txt has 3: item 1 is missing" \
  --dataset Tiny --models tiger
make_release Tiny "A1,['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>" "$row_two"
echo '{"0": {"title": "Item zero"}, "1": {"title": "Item one"}}' >Tiny/index/Tiny.item.json
expect_refused "Tiny/index/Tiny.item.json: 2 items, but Tiny/info/Tiny.txt has 3: item 2 is missing" \
  --dataset Tiny --models tiger --sid-source rqkmeans
make_release Tiny "A1,['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>" "$row_two"
printf '<a_1><b_1>\t\t0\n<a_1><b_2>\t\t1\n<a_2><b_1>\t\t2\n' >Tiny/info/Tiny.txt
echo '{"0": {}, "1": {}, "2": {}}' >Tiny/index/Tiny.item.json
expect_refused "semantic IDs from item text need item titles or descriptions" --dataset Tiny --models tiger \
  --sid-source rqkmeans

# --checkpoints DIR that does not exist is created
rm -rf out new
if run_tiny --max-steps 3 --checkpoints new/ck >/dev/null 2>&1 && [ -d new/ck ] &&
  ls new/ck/*.safetensors >/dev/null 2>&1; then
  echo "ok: --checkpoints new/ck is created"
else
  echo "FAIL: --checkpoints new/ck was not created or holds no checkpoint"
  failures=$((failures + 1))
fi

# a diverging run stops with a clear error, and the run finished before it keeps its results on disk
rm -rf out
output=$(run_tiny --optimizers adamw,lion --lr lion=1e4 2>&1)
status=$?
if [ "$status" -ne 0 ] && grep -q "the loss exploded to\|the loss became" <<<"$output" &&
  grep -q '"optimizer": "adamw"' out/results.json 2>/dev/null; then
  echo "ok: a diverging lion run stops with: $(grep -o 'train: the loss [a-z]* [^ ]* [^ ]* at step [0-9]*' <<<"$output" | head -1); adamw's results kept"
else
  echo "FAIL: a diverging run: status $status, output:"
  echo "$output" | tail -3
  failures=$((failures + 1))
fi

# reusing --out leaves no plot of a model that is not in the new results
rm -rf out && mkdir out && echo '<svg/>' >out/curve_sasrec.svg
if run_tiny --max-steps 3 >/dev/null 2>&1 && [ ! -e out/curve_sasrec.svg ] &&
  [ -e out/curve_gru4rec.svg ]; then
  echo "ok: a stale curve_sasrec.svg is removed from a reused --out"
else
  echo "FAIL: a stale curve_sasrec.svg stayed in the reused --out"
  failures=$((failures + 1))
fi

# kill -9 at several points, then --resume: the results are whole JSON at every moment, and the resumed
# invocation ends with the same test metrics as one that was never interrupted
metrics() { python3 -c 'import json,sys; print([(r["model"], r["optimizer"], r["seed"], r["test"]) for r in json.load(open(sys.argv[1]))["runs"]])' "$1"; }
if command -v python3 >/dev/null; then
  rm -rf whole
  start=$(date +%s.%N)
  run_tiny --models gru4rec,caser --max-epochs 3 --out whole >/dev/null 2>&1
  duration=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")
  # at a quarter, half and three quarters of an uninterrupted invocation's time
  for delay in $(python3 -c "import sys; d = float(sys.argv[1]); print(' '.join('%.2f' % (d * f) for f in (0.25, 0.5, 0.75)))" "$duration"); do
    rm -rf killed
    # exec: the background subshell becomes recbench itself, so kill -9 hits recbench and not a shell
    # that would leave it running beside the resumed invocation
    (exec_tiny --models gru4rec,caser --max-epochs 3 --out killed >/dev/null 2>&1) &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    if [ -e killed/results.json ] && ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' killed/results.json; then
      echo "FAIL: kill -9 after ${delay}s left a torn results.json"
      failures=$((failures + 1))
      continue
    fi
    run_tiny --models gru4rec,caser --max-epochs 3 --out killed --resume >/dev/null 2>&1
    if [ "$(metrics killed/results.json)" = "$(metrics whole/results.json)" ]; then
      echo "ok: kill -9 after ${delay}s, then --resume: the same test metrics as an uninterrupted invocation"
    else
      echo "FAIL: kill -9 after ${delay}s, then --resume: the results differ from an uninterrupted invocation"
      failures=$((failures + 1))
    fi
  done
else
  echo "skipped: the kill -9 cases need python3 to read results.json"
fi

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
