// Running one of the L4T BSP's Python 3 tools (GenerateCapsule.py,
// gen_ekb.py) for a request: python3 from the server's PATH, in the job's
// work directory, with nothing of the server's environment but PATH. A
// non-zero exit, a kill at the deadline, an error line in the output or a
// missing or empty output file is a failure carrying the tool's last lines.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "digsig/jobs/job.hpp"
#include "digsig/util/error.hpp"

namespace digsig::signers {

// Runs `python3 script args...` and checks that `output` exists and is not
// empty afterwards.
[[nodiscard]] Result<void> run_bsp_python(const std::filesystem::path& script,
                                          const std::vector<std::string>& args,
                                          const std::filesystem::path& output, const jobs::Job& job);

}  // namespace digsig::signers
