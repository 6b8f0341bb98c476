#!/bin/sh
# run_torch_ref.sh: runs bench/torch_ref.py the way BENCH.md section 5 asks: Debian's python3
# (which sees Debian's numpy and torch) and the OpenMP build of OpenBLAS when it is installed
# (package libopenblas0-openmp), so that OpenBLAS threads do not fight torch's OpenMP threads.
# Arguments are passed on: run_torch_ref.sh [--step cim|crl|both] [--timed N] [--no-check]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
omp=/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ -d "$omp" ]; then
    LD_LIBRARY_PATH="$omp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
else
    echo "run_torch_ref.sh: warning: $omp missing (apt-get install libopenblas0-openmp);" \
         "timings may swing" >&2
fi
exec /usr/bin/python3 "$here/torch_ref.py" "$@"
