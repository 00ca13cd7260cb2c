#include "digsig/signers/bsp_python.hpp"

#include <fmt/format.h>

#include "digsig/tools/runner.hpp"

namespace digsig::signers {

namespace fs = std::filesystem;

Result<void> run_bsp_python(const fs::path& script, const std::vector<std::string>& args,
                            const fs::path& output, const jobs::Job& job) {
  std::vector<std::string> argv{"python3", script.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  tools::Command cmd{.argv = argv, .cwd = output.parent_path(), .env = {"PATH=" + tools::server_path()},
                     .deadline = job.deadline()};
  auto name = script.filename().string();
  auto outcome =
      tools::run_checked(cmd, job.dir(), name, {"Error", "ERROR", "Traceback (most recent call last)"});
  if (!outcome) return std::unexpected(outcome.error());
  std::error_code ec;
  if (!fs::is_regular_file(output, ec) || fs::file_size(output, ec) == 0) {
    return fail(ErrorKind::signing_failed,
                fmt::format("{} reported success but wrote no {}; its last lines:\n{}", name,
                            output.filename().string(), outcome->tail_for_client(8, job.dir())));
  }
  return {};
}

}  // namespace digsig::signers
