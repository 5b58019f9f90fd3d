#!/usr/bin/env bash
# One call of a lent GPU lease (see TRAINING_LOG.md). Starts the training run in its own process session
# the first time (it outlives this call while the machine stays warm), otherwise keeps watching it; then
# copies the log and the fp16 checkpoints to $OUT. Usage: training/gpu_lease.sh WATCH_SECONDS MINUTES
set -u
WATCH=${1:-560}
MINUTES=${2:-22}
RUN=${RUN:-.carry/gpu_run}  # a second run in one lease: RUN=.carry/gpu_run2 INIT=.carry/gpu_run/last_fp16.pt
DATA=.carry/train_data
mkdir -p "$RUN"
# Pure-Python packages the device's image lacks (written by training.prepare_carry).
export PYTHONPATH="$PWD/$DATA/pylib${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv,noheader || true
if [ -f "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null; then
  echo "training already running (pid $(cat "$RUN/pid"))"
else
  if [ -f "$RUN/full.pt" ]; then START=(--resume); else START=(--init "${INIT:-training/checkpoints/last_fp16.pt}"); fi
  # Optional recipe and shape (see `python -m training.train --help`); empty = the trainer's defaults.
  EXTRA=()
  [ -n "${TASK_WEIGHTS:-}" ] && EXTRA+=(--task-weights "$TASK_WEIGHTS")
  [ -n "${INTENT_WEIGHT:-}" ] && EXTRA+=(--intent-weight "$INTENT_WEIGHT")
  [ -n "${SUBSET_FRACTION:-}" ] && EXTRA+=(--subset-fraction "$SUBSET_FRACTION")
  [ -n "${ENC_BLOCKS:-}" ] && EXTRA+=(--enc-blocks "$ENC_BLOCKS")
  [ -n "${MIDDLE_BLOCKS:-}" ] && EXTRA+=(--middle-blocks "$MIDDLE_BLOCKS")
  [ -n "${DEC_BLOCKS:-}" ] && EXTRA+=(--dec-blocks "$DEC_BLOCKS")
  [ -n "${TASK_PRIOR:-}" ] && EXTRA+=(--task-prior)
  PYTHONUNBUFFERED=1 setsid nohup python3 -m training.train --run "$RUN" "${START[@]}" --minutes "$MINUTES" \
    --batch "${BATCH:-32}" --crop "${CROP:-192}" --lr "${LR:-8e-4}" --warmup "${WARMUP:-300}" --loss "${LOSS:-l1}" --workers "${WORKERS:-15}" \
    --threads 4 --save-minutes 1.5 --val-minutes "${VAL_MINUTES:-3}" --data "$DATA" --val-dir "$DATA/val" \
    --prompt-cache "$DATA/prompt_cache" --committed-ckpt "$RUN/last_fp16.pt" "${EXTRA[@]}" >"$RUN/stdout" 2>&1 &
  echo $! >"$RUN/pid"
  echo "started training (pid $!) ${START[*]}"
fi
end=$((SECONDS + WATCH))
while [ $SECONDS -lt $end ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null; do sleep 10; done
kill -0 "$(cat "$RUN/pid")" 2>/dev/null && echo "still running" || echo "training process has ended"
grep -v '"event": "train"' "$RUN/stdout" | tail -n 4 | cut -c1-1500
grep '"event": "train"' "$RUN/stdout" | tail -n 3
tail -n 5 "$RUN/stdout" | grep -iv '"event"' || true
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader || true
for f in log.jsonl stdout best_fp16.pt last_fp16.pt; do [ -f "$RUN/$f" ] && cp "$RUN/$f" "$OUT/"; done
ls -la "$OUT"
