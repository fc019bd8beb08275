// freeDiameterd with the stock dictionaries, dict_ocs.fdx and ocs.fdx
// configured by a TOML text: the daemon every Gy and Gx end-to-end test
// runs. The including test target defines OCS_FREEDIAMETERD,
// OCS_FD_EXTENSION_DIR, OCS_DICT_OCS_FDX and OCS_FDX (see tests/gy,
// tests/gx CMakeLists.txt).
#pragma once

#include <string>

#include "fd_daemon.hpp"

namespace ocs::test {

inline FdDaemonOptions ocs_daemon(const std::string& toml) {
  FdDaemonOptions o;
  o.executable = OCS_FREEDIAMETERD;
  o.extension_dir = OCS_FD_EXTENSION_DIR;
  o.extensions = FdDaemon::stock_dictionaries(OCS_FD_EXTENSION_DIR);
  o.extensions.push_back({OCS_DICT_OCS_FDX, {}});
  o.extensions.push_back({OCS_FDX, toml});
  o.app_threads = 2;
  return o;
}

}  // namespace ocs::test
