#!/usr/bin/env bash
# One of CI's reliability jobs, run by ctest from the main build (tests ci.asan_ubsan, ci.tsan,
# ci.fuzz): configures and builds a second tree with only what the job needs, runs it, and appends
# a one-line result to SUMMARY, which ctest prints after its own summary (CTestCustom.cmake).
#   ci_job.sh JOB SOURCE_DIR WORK_DIR GENERATOR SUMMARY
# GRADSCOPE_FUZZ_SECONDS sets each fuzzer's time (default 120).
set -euo pipefail
job=$1 src=$2 work=$3 generator=$4 summary=$5
tree=$work/$job
fuzz_seconds=${GRADSCOPE_FUZZ_SECONDS:-120}
start=$(date +%s)
mkdir -p "$work"

# -g1: line tables only, which is what the sanitizers' stack traces print; full debug information
# would make the build about a quarter slower.
configure() {
  cmake -S "$src" -B "$tree" -G "$generator" -DGRADSCOPE_CI_JOBS=OFF -DGRADSCOPE_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" "$@" >"$tree.configure.log" ||
    { cat "$tree.configure.log"; exit 1; }
}
report() { echo "$job: $* ($(($(date +%s) - start)) s with its build)" | tee -a "$summary"; }

case $job in
  asan_ubsan)
    # The whole suite with Eigen's assertions on (Debug), ASan + LeakSanitizer + UBSan, two tests
    # at a time (the job runs alone: RUN_SERIAL).
    configure -DGRADSCOPE_SANITIZE=address,undefined
    cmake --build "$tree" -j2
    log=$tree/ctest.log
    ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir "$tree" -j2 --output-on-failure >"$log" 2>&1 || { cat "$log"; exit 1; }
    report "$(grep -E 'tests passed' "$log")"
    ;;
  tsan)
    # Only the threads test needs ThreadSanitizer. Without OpenMP or OpenBLAS: neither libgomp nor
    # OpenBLAS is instrumented, so ThreadSanitizer does not see their barriers and reports a
    # threaded product's threads as a race.
    configure -DGRADSCOPE_SANITIZE=thread -DGRADSCOPE_BUILD_APPS=OFF -DGRADSCOPE_OPENMP=OFF \
      -DGRADSCOPE_BLAS=OFF
    cmake --build "$tree" -j2 --target test_reliability
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      "$tree/tests/test_reliability" "[threads]" | tee "$tree/threads.log"
    report "$(grep -E '^All tests passed' "$tree/threads.log")"
    ;;
  fuzz)
    # Without OpenMP: clang's (libomp-dev) is not a dependency, and the harnesses' graphs are small.
    configure -DCMAKE_CXX_COMPILER=clang++ -DGRADSCOPE_SANITIZE=address,undefined \
      -DGRADSCOPE_OPENMP=OFF -DGRADSCOPE_FUZZ=ON -DGRADSCOPE_BUILD_TESTS=OFF \
      -DGRADSCOPE_BUILD_APPS=OFF
    fuzzers=$(cd "$src/tests/fuzz" && sed -n 's/^gradscope_fuzzer(\([a-z_]*\) .*/\1/p' CMakeLists.txt)
    cmake --build "$tree" -j2 --target $fuzzers
    for f in $fuzzers; do
      corpus=$tree/corpus/$f
      mkdir -p "$corpus"
      [ -d "$src/tests/fuzz/corpus/$f" ] && cp -n "$src/tests/fuzz/corpus/$f"/* "$corpus"/ 2>/dev/null || true
      log=$tree/$f.log
      # -seed=0 would pick a random seed; a fixed one makes a CI failure reproducible.
      (cd "$tree" && "$tree/tests/fuzz/$f" -seed=1 -max_total_time="$fuzz_seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "$corpus") >"$log" 2>&1 || { tail -n 60 "$log"; exit 1; }
      runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 executions in \2 s/p' "$log")
      # The harness's own closing line says how many of those executions checked something.
      checks=$(grep -E "^$f: " "$log" | sed "s/^$f: //" || true)
      echo "$job: $f: $runs, no crash; $checks" | tee -a "$summary"
    done
    report "all fuzzers clean"
    ;;
  *)
    echo "unknown job $job" >&2
    exit 2
    ;;
esac
