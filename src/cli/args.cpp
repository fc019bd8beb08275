#include "args.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace ocs::cli {
namespace {

constexpr std::array<std::string_view, 14> kValueOptions = {
    "db", "config", "plan", "msisdn", "imsi", "nai", "username", "password",
    "balance", "credit-limit", "reason", "reference", "migrations", "days"};

bool takes_value(std::string_view name) {
  return std::find(kValueOptions.begin(), kValueOptions.end(), name) != kValueOptions.end();
}

bool looks_negative_number(const std::string& w) {
  return w.size() > 1 && w[0] == '-' && (std::isdigit(static_cast<unsigned char>(w[1])) || w[1] == '.');
}

}  // namespace

bool is_global_option(const std::string& name) {
  return name == "db" || name == "config" || name == "json" || name == "help";
}

Args parse_args(const std::vector<std::string>& argv) {
  Args args;
  const auto note = [&](const std::string& name) {
    if (std::find(args.given.begin(), args.given.end(), name) != args.given.end())
      throw CliError(kExitUsage, "option --" + name + " given more than once");
    args.given.push_back(name);
  };

  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& w = argv[i];
    if (w == "--") {
      args.words.insert(args.words.end(), argv.begin() + static_cast<std::ptrdiff_t>(i) + 1, argv.end());
      break;
    }
    if (w == "-h") {
      args.help = true;
      continue;
    }
    if (w.size() < 2 || w[0] != '-' || looks_negative_number(w)) {
      args.words.push_back(w);
      continue;
    }
    if (w[1] != '-') throw CliError(kExitUsage, "unknown option '" + w + "' (see 'ocsctl --help')");

    std::string name = w.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.erase(eq);
    }
    if (name == "json" || name == "help") {
      if (inline_value) throw CliError(kExitUsage, "option --" + name + " takes no value");
      note(name);
      (name == "json" ? args.json : args.help) = true;
      continue;
    }
    if (!takes_value(name)) throw CliError(kExitUsage, "unknown option '--" + name + "' (see 'ocsctl --help')");
    note(name);
    if (inline_value) {
      args.values[name] = *inline_value;
    } else if (i + 1 < argv.size()) {
      args.values[name] = argv[++i];
    } else {
      throw CliError(kExitUsage, "option --" + name + " needs a value");
    }
  }
  return args;
}

}  // namespace ocs::cli
