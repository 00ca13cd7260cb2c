// The composition root: reads the configuration, builds the parts, runs the
// server until SIGINT or SIGTERM.
#pragma once

namespace digsig::app {

// Returns the process exit code.
int run(int argc, char** argv);

}  // namespace digsig::app
