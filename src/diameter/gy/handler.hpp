// The Gy request handler: decode, map, charge, map, answer. Runs on the
// extension's worker threads, never on freeDiameter's dispatch threads.
#pragma once

#include <memory>

#include <spdlog/spdlog.h>

#include "ocs/store/store.hpp"
#include "wire.hpp"

namespace ocs::gy {

class Handler {
 public:
  Handler(const Dict& dict, store::ChargingStore& store, Options options, std::shared_ptr<spdlog::logger> log)
      : dict_(dict), store_(store), options_(options), log_(std::move(log)) {}

  /// Answers the CCR in *pmsg (and sends it). Never throws; *pmsg is null
  /// afterwards.
  void handle(msg** pmsg) noexcept;

 private:
  Cca decide(const Ccr& ccr, std::string& subscriber, bool& replayed);

  const Dict& dict_;
  store::ChargingStore& store_;
  const Options options_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace ocs::gy
