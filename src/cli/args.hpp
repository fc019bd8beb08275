// ocsctl's command line: words, "--name VALUE" / "--name=VALUE" options and
// flags, in any order. Which options a command accepts is checked later,
// against the command table in ocsctl.cpp.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ocs::cli {

/// Exit status of ocsctl, documented in `ocsctl --help`.
enum ExitCode : int {
  kExitOk = 0,
  kExitOther = 1,
  kExitUsage = 2,
  kExitNotFound = 3,
  kExitConflict = 4,
  kExitInvalid = 5,
  kExitUnavailable = 6,
};

/// An error that ends ocsctl with `code` and the one-line `what()`.
class CliError : public std::runtime_error {
 public:
  CliError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

struct Args {
  /// Words that are not options: the command, then its arguments.
  std::vector<std::string> words;
  /// Options with a value, by name without the dashes ("plan", "db").
  std::map<std::string, std::string> values;
  bool json = false;
  bool help = false;
  /// Every option given, by name, for the per-command check.
  std::vector<std::string> given;

  std::optional<std::string> get(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
};

/// Options every command accepts.
bool is_global_option(const std::string& name);

/// Splits argv (without argv[0]). Throws CliError(kExitUsage) for an unknown
/// option, an option given twice, or an option missing its value. "--" ends
/// the options; a word that looks like a negative number ("-5") is a word,
/// so that the amount check can reject it with a proper message.
Args parse_args(const std::vector<std::string>& argv);

}  // namespace ocs::cli
