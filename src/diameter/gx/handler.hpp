// The Gx request handler: decode, map, decide (one transaction), map,
// answer. Runs on the extension's worker threads, never on freeDiameter's
// dispatch threads.
#pragma once

#include <memory>

#include <spdlog/spdlog.h>

#include "ocs/store/store.hpp"
#include "wire.hpp"

namespace ocs::gx {

class Handler {
 public:
  Handler(const Dict& dict, store::PolicyStore& store, std::shared_ptr<spdlog::logger> log)
      : dict_(dict), store_(store), log_(std::move(log)) {}

  /// Answers the CCR in *pmsg (and sends it). Never throws; *pmsg is null
  /// afterwards.
  void handle(msg** pmsg) noexcept;

 private:
  Cca decide(const Ccr& ccr, store::PolicyResult& result);

  const Dict& dict_;
  store::PolicyStore& store_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace ocs::gx
