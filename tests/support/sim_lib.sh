# Helpers for integration tests that run the SIMULATED vendor tools of
# tests/fixtures (sourced after it_lib.sh). SIMLOG is the simulated tools'
# log directory: calls.log (what they were called with) and simulate (how
# the test wants a tool to misbehave).

# sim_reset: an empty log and every tool back to normal.
sim_reset() { : > "$SIMLOG/calls.log"; : > "$SIMLOG/simulate"; }

# sim_mode TOOL MODE: TOOL fails, prints an error line, produces nothing or
# hangs (fail, error-line, nothing, hang) until the next sim_reset.
sim_mode() { echo "$1 $2" > "$SIMLOG/simulate"; }

# logged LINE: calls.log has exactly LINE; otherwise shows what that tool logged.
logged() {
  grep -qxF -- "$1" "$SIMLOG/calls.log" && return 0
  echo "  calls.log lines of ${1%% *}:"
  grep -F -- "${1%% *} " "$SIMLOG/calls.log" | grep -v '^env \|^cwd \|^tools ' | sed 's/^/    /'
  return 1
}

# members TARBALL: its member names, sorted, on one line.
members() { tar -tzf "$1" | LC_ALL=C sort | tr '\n' ' '; }
export -f members
